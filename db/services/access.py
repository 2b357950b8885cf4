"""Record-level access: which visits, patients and nurses a person may see or change.

`bot.guard.GUARD` decides which roles reach a handler; these functions decide which *records* the
person may touch once there. Every id that arrives from Telegram (callback data, command
arguments) is untrusted: load records through these functions, never by a bare `session.get`.
A refusal returns None (the handler then answers politely and changes nothing); the functions do
not say whether a record exists elsewhere, so a forged id learns nothing.

Rules: a head (or admin) sees only their own clinic's records; a nurse only the visits assigned
to her; a caregiver or patient only patients linked to their account (not revoked).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Nurse, Patient, PatientLink, Visit

HEAD_ROLES = frozenset({"head", "admin"})

# --- staff: heads ------------------------------------------------------------------------------


def is_head(roles: frozenset[str]) -> bool:
    return bool(roles & HEAD_ROLES)


async def head_visit(session: AsyncSession, clinic_id: int, visit_id: int) -> Visit | None:
    """A visit of the head's own clinic, or None."""
    return await session.scalar(
        select(Visit).where(Visit.id == visit_id, Visit.clinic_id == clinic_id)
    )


async def head_patient(session: AsyncSession, clinic_id: int, patient_id: int) -> Patient | None:
    return await session.scalar(
        select(Patient).where(Patient.id == patient_id, Patient.clinic_id == clinic_id)
    )


async def head_nurse(session: AsyncSession, clinic_id: int, nurse_id: int) -> Nurse | None:
    """A nurse of the head's own clinic (active or not), or None."""
    return await session.scalar(
        select(Nurse).where(Nurse.id == nurse_id, Nurse.clinic_id == clinic_id)
    )


# --- staff: nurses -----------------------------------------------------------------------------


async def nurse_of(session: AsyncSession, account: Account, clinic_id: int) -> Nurse | None:
    """The active nurse row of this account in this clinic."""
    return await session.scalar(
        select(Nurse).where(
            Nurse.account_id == account.id, Nurse.clinic_id == clinic_id, Nurse.active.is_(True)
        )
    )


async def nurse_visit(
    session: AsyncSession, account: Account, clinic_id: int, visit_id: int
) -> Visit | None:
    """A visit assigned to this account's nurse row, or None (another nurse's visit included)."""
    return await session.scalar(
        select(Visit)
        .join(Nurse, Nurse.id == Visit.nurse_id)
        .where(
            Visit.id == visit_id,
            Visit.clinic_id == clinic_id,
            Nurse.account_id == account.id,
            Nurse.active.is_(True),
        )
    )


# --- staff: either -----------------------------------------------------------------------------


async def staff_visit(
    session: AsyncSession,
    account: Account,
    roles: frozenset[str],
    clinic_id: int,
    visit_id: int,
) -> Visit | None:
    """A head sees any visit of the clinic; a nurse only hers; anyone else nothing."""
    if is_head(roles):
        return await head_visit(session, clinic_id, visit_id)
    if "nurse" in roles:
        return await nurse_visit(session, account, clinic_id, visit_id)
    return None


# --- family: patients and caregivers -----------------------------------------------------------


async def linked_patient(
    session: AsyncSession, account: Account, clinic_id: int, patient_id: int
) -> Patient | None:
    """A patient linked to this account (self or caregiver, not revoked, not deleted)."""
    return await session.scalar(
        select(Patient)
        .join(PatientLink, PatientLink.patient_id == Patient.id)
        .where(
            Patient.id == patient_id,
            Patient.clinic_id == clinic_id,
            Patient.deleted_at.is_(None),
            PatientLink.account_id == account.id,
            PatientLink.revoked_at.is_(None),
        )
    )


async def linked_visit(
    session: AsyncSession, account: Account, clinic_id: int, visit_id: int
) -> Visit | None:
    """A visit of a patient linked to this account, or None."""
    return await session.scalar(
        select(Visit)
        .join(PatientLink, PatientLink.patient_id == Visit.patient_id)
        .where(
            Visit.id == visit_id,
            Visit.clinic_id == clinic_id,
            PatientLink.account_id == account.id,
            PatientLink.revoked_at.is_(None),
        )
    )
