"""Registering a patient: one transaction writes the patient, the account's link, the consent
given for that patient, and the account's family role.

The answers are collected step by step in the conversation (`conversations.data`) and validated by
`scheduler.identity` as they arrive; nothing reaches `patients` until the person confirms the
summary. An address outside the clinic's service area is never stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, PatientLink
from db.services import consent as consent_service
from db.services.accounts import grant_role

MAX_LABEL = 60


@dataclass(frozen=True)
class PatientDraft:
    """What registration collected (already validated)."""

    full_name: str
    phone: str
    birth_date: date
    nik: str | None
    sex: str | None
    address: str
    kelurahan: str
    rt_rw: str
    landmark: str | None
    lat: float | None
    lon: float | None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> PatientDraft:
        return cls(
            full_name=str(data["name"]),
            phone=str(data["phone"]),
            birth_date=date.fromisoformat(str(data["birth"])),
            nik=data.get("nik") or None,
            sex=data.get("sex") or None,
            address=str(data["address"]),
            kelurahan=str(data["kel"]),
            rt_rw=str(data["rtrw"]),
            landmark=data.get("landmark") or None,
            lat=float(data["lat"]) if data.get("lat") is not None else None,
            lon=float(data["lon"]) if data.get("lon") is not None else None,
        )


# The landmark is optional: it comes with the typed address when the family writes one.
DRAFT_KEYS = ("name", "phone", "birth", "address", "kel", "rtrw")


def draft_complete(data: dict[str, Any]) -> bool:
    return all(data.get(k) not in (None, "") for k in DRAFT_KEYS)


async def register_patient(
    session: AsyncSession,
    *,
    account: Account,
    clinic_id: int,
    draft: PatientDraft,
    relation: str,
    label: str | None,
    consent_version: str,
    consent_hash: str,
    language: str,
    now: datetime,
) -> Patient:
    """Create the patient and link it to `account` as "self" or "caregiver"."""
    if relation not in ("self", "caregiver"):
        raise ValueError(f"unknown relation {relation!r}")
    patient = Patient(
        clinic_id=clinic_id,
        full_name=draft.full_name,
        phone=draft.phone,
        birth_date=draft.birth_date,
        nik=draft.nik,
        sex=draft.sex,
        address=draft.address,
        kelurahan=draft.kelurahan,
        rt_rw=draft.rt_rw,
        landmark=draft.landmark,
        lat=draft.lat,
        lon=draft.lon,
        created_by_account_id=account.id,
        created_at=now,
    )
    session.add(patient)
    await session.flush()
    session.add(
        PatientLink(
            account_id=account.id,
            patient_id=patient.id,
            relation=relation,
            label=(label or None) and label[:MAX_LABEL],
            created_at=now,
        )
    )
    await consent_service.record(
        session,
        account_id=account.id,
        patient_id=patient.id,
        version=consent_version,
        shown_hash=consent_hash,
        language=language,
        now=now,
    )
    await grant_role(session, account, clinic_id, "patient" if relation == "self" else "caregiver")
    await session.flush()
    return patient
