"""Seed data for the head's tests: accounts with roles, nurses, patients, visits with history."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Account,
    AccountRole,
    Clinic,
    Nurse,
    Patient,
    PatientLink,
    Visit,
    VisitStatusChange,
)

WITA = ZoneInfo("Asia/Makassar")
_codes = iter(range(1, 10**6))


def wita(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), WITA).astimezone(UTC)


async def account(
    session: AsyncSession,
    telegram_id: int,
    first_name: str,
    roles: tuple[str, ...] = (),
    clinic_id: int | None = None,
    language: str = "id",
) -> Account:
    a = Account(
        telegram_user_id=telegram_id,
        chat_id=telegram_id,
        first_name=first_name,
        language=language,
        language_chosen=True,
        roles=[AccountRole(clinic_id=clinic_id, role=role) for role in roles],
    )
    session.add(a)
    await session.flush()
    return a


async def nurse(
    session: AsyncSession,
    clinic_id: int,
    name: str,
    skills: tuple[str, ...] = ("wound", "chronic"),
    owner: Account | None = None,
    active: bool = True,
) -> Nurse:
    n = Nurse(
        clinic_id=clinic_id,
        account_id=owner.id if owner else None,
        name=name,
        skills=list(skills),
        daily_cap=8,
        shift_start=time(8),
        shift_end=time(14),
        active=active,
    )
    session.add(n)
    await session.flush()
    return n


async def patient(
    session: AsyncSession,
    clinic_id: int,
    name: str,
    kelurahan: str = "Karunrung",
    nik: str | None = None,
    birth: date | None = date(1950, 5, 17),
    sex: str | None = "P",
    phone: str | None = "+6281234567890",
    family: Account | None = None,
) -> Patient:
    p = Patient(
        clinic_id=clinic_id,
        full_name=name,
        kelurahan=kelurahan,
        nik=nik,
        birth_date=birth,
        sex=sex,
        phone=phone,
        address="Jl. Contoh 1",
    )
    session.add(p)
    await session.flush()
    if family is not None:
        session.add(PatientLink(account_id=family.id, patient_id=p.id, relation="caregiver"))
        await session.flush()
    return p


# The statuses a visit passes through to reach each final status (for the history rows).
PATHS: dict[str, tuple[str, ...]] = {
    "requested": ("requested",),
    "scheduled": ("requested", "scheduled"),
    "confirmed": ("requested", "scheduled", "confirmed"),
    "on_the_way": ("requested", "scheduled", "on_the_way"),
    "arrived": ("requested", "scheduled", "on_the_way", "arrived"),
    "completed": ("requested", "scheduled", "on_the_way", "arrived", "completed"),
    "not_home": ("requested", "scheduled", "on_the_way", "not_home"),
    "referred": ("requested", "scheduled", "on_the_way", "arrived", "referred"),
    "cancelled_by_patient": ("requested", "scheduled", "cancelled_by_patient"),
    "cancelled_by_clinic": ("requested", "cancelled_by_clinic"),
    "unplaced": ("requested", "unplaced"),
    "expired": ("requested", "unplaced", "expired"),
}
ACTOR = {
    "requested": "patient",
    "scheduled": "system",
    "confirmed": "patient",
    "on_the_way": "nurse",
    "arrived": "nurse",
    "completed": "nurse",
    "not_home": "nurse",
    "referred": "nurse",
    "cancelled_by_patient": "patient",
    "cancelled_by_clinic": "head",
    "unplaced": "system",
    "expired": "system",
}


async def visit(
    session: AsyncSession,
    clinic_id: int,
    pat: Patient,
    day: date,
    status: str = "scheduled",
    *,
    window: tuple[int, int] = (8, 10),
    service: str = "wound_care",
    who: Nurse | None = None,
    created_at: datetime | None = None,
    started_at: datetime | None = None,
    completed_at: datetime | None = None,
    planned_start: datetime | None = None,
    vitals: dict[str, Any] | None = None,
    note: str | None = None,
    complaint: str | None = "Luka kaki belum kering",
    confirmation: str | None = None,
    priority: str = "routine",
    actor: Account | None = None,
) -> Visit:
    created = created_at or wita(day - timedelta(days=2), 9)
    v = Visit(
        clinic_id=clinic_id,
        code=f"T{next(_codes):05d}",
        patient_id=pat.id,
        service_type=service,
        complaint=complaint,
        priority=priority,
        day=day,
        window_start=time(window[0]),
        window_end=time(window[1]),
        duration_min=45,
        status=status,
        nurse_id=who.id if who else None,
        planned_start=planned_start,
        started_at=started_at,
        completed_at=completed_at,
        confirmation=confirmation,
        nurse_note=note,
        vitals=vitals,
        created_at=created,
    )
    session.add(v)
    await session.flush()
    path = PATHS[status]
    at = created
    prev: str | None = None
    for step in path:
        session.add(
            VisitStatusChange(
                visit_id=v.id,
                from_status=prev,
                to_status=step,
                actor_account_id=actor.id if actor and ACTOR[step] != "system" else None,
                actor_role=ACTOR[step],
                at=at,
            )
        )
        prev = step
        at = at + timedelta(minutes=10)
    await session.flush()
    return v


async def other_clinic(session: AsyncSession) -> int:
    c = Clinic(code="other-clinic", name="Puskesmas Lain", timezone="Asia/Makassar")
    session.add(c)
    await session.flush()
    return c.id
