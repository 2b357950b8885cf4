"""Work for the clinic heads (`StaffTask`) and the one digest message that tells them about it.

Tasks are created wherever a person must step in: the bot cannot reach a patient (403, chat not
found, a message given up), a visit is unconfirmed at the deadline, the planner could not place
a request. They are never sent one by one: a job gathers every open task not yet told into one
digest per head (`queue_digest`), so a bad evening produces one message, not a flood.

Other code adds tasks with `add_task(session, clinic_id=..., kind=..., ...)` or writes `StaffTask`
rows itself; any kind is accepted (an unknown kind is shown with its `detail`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, PatientLink, StaffTask, Visit
from db.services import outbox
from db.services.patients import head_accounts
from homecare.config import ClinicConfig

# Task kinds (StaffTask.kind).
KIND_UNREACHABLE = "unreachable"  # Telegram refuses messages to this patient/caregiver: phone them
KIND_UNDELIVERED = "undelivered"  # a message to them was given up (or may not have arrived)
KIND_UNCONFIRMED = "unconfirmed"  # no answer to "will you be at home?" by the deadline
KIND_UNPLACED = "visit_unplaced"  # the planner could not place a request (db.services.planning)

# Most items one digest lists; the rest are counted ("…and 12 more").
DIGEST_MAX_ITEMS = 40


async def add_task(
    session: AsyncSession,
    *,
    clinic_id: int,
    kind: str,
    now: datetime,
    patient_id: int | None = None,
    visit_id: int | None = None,
    account_id: int | None = None,
    detail: str | None = None,
) -> StaffTask | None:
    """Open a task unless the same one is already open (same kind and visit, else account, else
    patient); returns the new task or None."""
    same = select(StaffTask.id).where(
        StaffTask.clinic_id == clinic_id,
        StaffTask.kind == kind,
        StaffTask.resolved_at.is_(None),
    )
    if visit_id is not None:
        same = same.where(StaffTask.visit_id == visit_id)
    elif account_id is not None:
        same = same.where(StaffTask.account_id == account_id)
    elif patient_id is not None:
        same = same.where(StaffTask.patient_id == patient_id)
    else:
        same = same.where(StaffTask.detail == detail)
    if await session.scalar(same.limit(1)) is not None:
        return None
    task = StaffTask(
        clinic_id=clinic_id,
        kind=kind,
        patient_id=patient_id,
        visit_id=visit_id,
        account_id=account_id,
        detail=detail[:300] if detail else None,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task


async def resolve_tasks(session: AsyncSession, *, kind: str, visit_id: int, now: datetime) -> int:
    """Close open tasks of `kind` for a visit (e.g. the patient answered after the deadline)."""
    result = await session.execute(
        update(StaffTask)
        .where(
            StaffTask.kind == kind,
            StaffTask.visit_id == visit_id,
            StaffTask.resolved_at.is_(None),
        )
        .values(resolved_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def phone_unreachable(
    session: AsyncSession, account_id: int, kind: str, reason: str, now: datetime
) -> StaffTask | None:
    """A "phone this person" task when the bot cannot reach a patient or caregiver.

    Only family accounts get one (staff are reachable in the clinic); one open task per account,
    however many messages bounce. The account row is locked first so two relay workers bouncing
    at once on PostgreSQL cannot both add one (SQLite writers are serialised anyway).
    """
    locked = await session.scalar(
        select(Account.id).where(Account.id == account_id).with_for_update()
    )
    if locked is None:
        return None
    patient = await session.scalar(
        select(Patient)
        .join(PatientLink, PatientLink.patient_id == Patient.id)
        .where(PatientLink.account_id == account_id, PatientLink.revoked_at.is_(None))
        .order_by(PatientLink.relation.desc(), Patient.id)  # "self" before "caregiver"
        .limit(1)
    )
    if patient is None:
        return None
    return await add_task(
        session,
        clinic_id=patient.clinic_id,
        kind=kind,
        patient_id=patient.id,
        account_id=account_id,
        detail=reason,
        now=now,
    )


# --- the digest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    """One open task with what a head needs to act on it (no ORM objects for the renderer)."""

    task_id: int
    kind: str
    created_at: datetime
    patient_name: str | None
    patient_phone: str | None
    account_name: str | None
    visit_code: str | None
    visit_day: date | None
    window: tuple[time, time] | None
    detail: str | None


@dataclass(frozen=True)
class Digest:
    items: tuple[DigestItem, ...]
    total: int  # open, untold tasks (items may be fewer)


def digest_params(digest: Digest) -> dict[str, Any]:
    """The digest as plain intent parameters (`digest_from_params` reads them back)."""
    return asdict(digest)


def digest_from_params(p: Mapping[str, Any]) -> Digest:
    items = tuple(
        DigestItem(**{**i, "window": tuple(i["window"]) if i["window"] else None})
        for i in p["items"]
    )
    return Digest(items, int(p["total"]))


async def collect_digest(
    session: AsyncSession, clinic_id: int, limit: int = DIGEST_MAX_ITEMS
) -> tuple[Digest, list[int]]:
    """Open tasks not yet in a digest, oldest first; returns the digest and every task id it
    covers (counted ones included, so they are not repeated next time)."""
    pending = (
        StaffTask.clinic_id == clinic_id,
        StaffTask.digested_at.is_(None),
        StaffTask.resolved_at.is_(None),
    )
    ids = list(await session.scalars(select(StaffTask.id).where(*pending).order_by(StaffTask.id)))
    if not ids:
        return Digest((), 0), []
    rows = await session.execute(
        select(StaffTask, Patient, Account, Visit)
        .outerjoin(Patient, Patient.id == StaffTask.patient_id)
        .outerjoin(Account, Account.id == StaffTask.account_id)
        .outerjoin(Visit, Visit.id == StaffTask.visit_id)
        .where(*pending)
        .order_by(StaffTask.kind, StaffTask.id)
        .limit(limit)
    )
    items: list[DigestItem] = []
    for task, patient, account, visit in rows:
        if patient is None and visit is not None:
            patient = await session.get(Patient, visit.patient_id)
        items.append(
            DigestItem(
                task_id=task.id,
                kind=task.kind,
                created_at=task.created_at,
                patient_name=patient.full_name if patient else None,
                patient_phone=patient.phone if patient else None,
                account_name=account.first_name if account else None,
                visit_code=visit.code if visit else None,
                visit_day=visit.day if visit else None,
                window=(visit.window_start, visit.window_end) if visit else None,
                detail=task.detail,
            )
        )
    return Digest(tuple(items), len(ids)), ids


async def open_task_count(session: AsyncSession, clinic_id: int) -> int:
    return int(
        await session.scalar(
            select(func.count(StaffTask.id)).where(
                StaffTask.clinic_id == clinic_id,
                StaffTask.digested_at.is_(None),
                StaffTask.resolved_at.is_(None),
            )
        )
        or 0
    )


async def queue_digest(
    session: AsyncSession,
    clinic_id: int,
    now: datetime,
) -> list[int]:
    """Queue one digest per head of the clinic and mark its tasks told; returns outbox ids.

    With no head registered yet the tasks stay untold (the next digest retries).
    """
    digest, ids = await collect_digest(session, clinic_id)
    if not ids:
        return []
    heads: Sequence[Account] = await head_accounts(session, clinic_id)
    if not heads:
        return []
    queued: list[int] = []
    params = digest_params(digest)
    for head in heads:
        row = await outbox.tell(
            session,
            chat_id=head.chat_id,
            template="head.digest",
            params=params,
            kind="digest",
            clinic_id=clinic_id,
            account_id=head.id,
            dedupe_key=f"digest:{clinic_id}:{head.id}:{ids[-1]}:{len(ids)}",
        )
        if row is not None:
            queued.append(row.id)
    await session.execute(update(StaffTask).where(StaffTask.id.in_(ids)).values(digested_at=now))
    return queued


def in_working_hours(clinic: ClinicConfig, now: datetime) -> bool:
    """A working day of the clinic, between its opening and closing time (clinic-local)."""
    local = now.astimezone(clinic.tz)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
    start, end = clinic.working_hours
    return day in clinic.working_days and start <= local.time() < end
