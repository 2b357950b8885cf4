"""The family side's patients: listing an account's patients, corrections, who hears about them.

Record-level checks for single records are in `db.services.access` (`linked_patient`,
`linked_visit`); this module lists and updates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, AccountRole, Nurse, Patient, PatientLink
from db.services import outbox


@dataclass
class Notes:
    """Where notes to staff queued by a person's action are accounted for.

    `update_id`: the update that caused them (the relay gives them a person's priority);
    `ids`: the queued outbox rows, for waking the relay at once — pass the turn's
    `outbox_ids` list. Jobs pass nothing and rely on the relay's scan.
    """

    update_id: int | None = None
    ids: list[int] = field(default_factory=list)


async def queue_note(
    session: AsyncSession, notes: Notes | None, *, chat_id: int, payload: dict[str, Any], **kw: Any
) -> None:
    row = await outbox.queue(
        session,
        chat_id=chat_id,
        method="sendMessage",
        payload=payload,
        source_update_id=notes.update_id if notes else None,
        **kw,
    )
    if row is not None and notes is not None:
        notes.ids.append(row.id)


def patient_params(patient: Patient) -> dict[str, Any]:
    """What a message template needs of a patient, as plain intent parameters."""
    return {
        "full_name": patient.full_name,
        "phone": patient.phone,
        "address": patient.address,
        "kelurahan": patient.kelurahan,
        "rt_rw": patient.rt_rw,
        "landmark": patient.landmark,
    }


async def tell_note(
    session: AsyncSession, notes: Notes | None, *, chat_id: int, template: str, **kw: Any
) -> None:
    """`outbox.tell`, remembering the row in `notes` (the handler's update) like queue_note."""
    row = await outbox.tell(
        session,
        chat_id=chat_id,
        template=template,
        source_update_id=notes.update_id if notes else None,
        **kw,
    )
    if row is not None and notes is not None:
        notes.ids.append(row.id)


# Profile fields a person may correct, in the order they are offered.
CORRECTABLE = ("name", "phone", "birth", "nik", "address", "kel", "rtrw", "landmark", "loc")


@dataclass(frozen=True)
class MyPatient:
    patient: Patient
    link: PatientLink

    @property
    def is_self(self) -> bool:
        return self.link.relation == "self"

    @property
    def label(self) -> str | None:
        return self.link.label


async def my_patients(session: AsyncSession, account_id: int, clinic_id: int) -> list[MyPatient]:
    """Patients this account may act for: its own record first, then those it cares for."""
    rows = await session.execute(
        select(Patient, PatientLink)
        .join(PatientLink, PatientLink.patient_id == Patient.id)
        .where(
            PatientLink.account_id == account_id,
            PatientLink.revoked_at.is_(None),
            Patient.clinic_id == clinic_id,
            Patient.deleted_at.is_(None),
        )
        .order_by(PatientLink.relation.desc(), PatientLink.id)
    )
    return [MyPatient(p, link) for p, link in rows.all()]


async def my_patient(
    session: AsyncSession, account_id: int, clinic_id: int, patient_id: int
) -> MyPatient | None:
    for mine in await my_patients(session, account_id, clinic_id):
        if mine.patient.id == patient_id:
            return mine
    return None


def apply_correction(patient: Patient, field: str, value: Any, now: datetime) -> None:
    """Set one corrected profile field (already validated by the caller)."""
    if field == "name":
        patient.full_name = str(value)
    elif field == "phone":
        patient.phone = str(value)
    elif field == "birth":
        patient.birth_date = value if isinstance(value, date) else date.fromisoformat(str(value))
    elif field == "nik":
        nik, sex = value
        patient.nik = nik
        if sex:
            patient.sex = sex
    elif field == "address":
        patient.address = str(value)
    elif field == "kel":
        patient.kelurahan = str(value)
    elif field == "rtrw":
        patient.rt_rw = str(value)
    elif field == "landmark":
        patient.landmark = str(value)
    elif field == "loc":
        lat, lon = value
        patient.lat, patient.lon = lat, lon
    else:
        raise ValueError(f"field {field!r} cannot be corrected")
    patient.updated_at = now


async def patient_accounts(session: AsyncSession, patient_id: int) -> list[Account]:
    """Every account that hears about this patient (the patient and caregivers)."""
    return list(
        await session.scalars(
            select(Account)
            .join(PatientLink, PatientLink.account_id == Account.id)
            .where(
                PatientLink.patient_id == patient_id,
                PatientLink.revoked_at.is_(None),
                Account.deleted_at.is_(None),
            )
            .order_by(Account.id)
        )
    )


async def head_accounts(session: AsyncSession, clinic_id: int) -> list[Account]:
    """The clinic heads: they hear about emergencies, cancellations and reschedules."""
    return list(
        await session.scalars(
            select(Account)
            .where(
                Account.deleted_at.is_(None),
                Account.id.in_(
                    select(AccountRole.account_id).where(
                        AccountRole.clinic_id == clinic_id, AccountRole.role == "head"
                    )
                ),
            )
            .order_by(Account.id)
        )
    )


async def nurse_account(session: AsyncSession, nurse_id: int | None) -> Account | None:
    """The Telegram account of the nurse assigned to a visit, if any."""
    if nurse_id is None:
        return None
    nurse = await session.get(Nurse, nurse_id)
    if nurse is None or nurse.account_id is None:
        return None
    account = await session.get(Account, nurse.account_id)
    if account is None or account.deleted_at is not None:
        return None
    return account
