"""Planning: same-day changes — a visit cancelled or moved, staffing changed, a visit added, a
nurse sick or unable to make a visit. Each records what happened and queues a re-plan in the
caller's transaction (it runs after the commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Clinic, Nurse, NurseLeave, Patient, PlanRun, StaffTask, Visit
from db.services.planning import queue, tell
from db.services.planning.read import ASSIGNED
from db.session import Database
from homecare.config import Config


async def on_visit_cancelled(
    session_or_db: AsyncSession | Database, visit: Visit, now: datetime
) -> bool:
    """Call after a visit was cancelled (any actor). Its route stop goes at once; when its day
    is planned and not over, a re-plan of that day is queued. Returns True when queued.

    With a session, this happens in the caller's transaction (the re-plan runs after its commit);
    with a `Database`, in a transaction of its own.
    """
    if isinstance(session_or_db, Database):
        async with session_or_db.transaction() as session:
            fresh = await session.get(Visit, visit.id)
            return fresh is not None and await _after_cancel(session, fresh, now)
    return await _after_cancel(session_or_db, visit, now)


async def on_visit_moved(session: AsyncSession, visit: Visit, old_day: date, now: datetime) -> bool:
    """Call after a planned visit was moved to another day or window (a reschedule): it leaves its
    route at once, and the day it left is re-planned when that day is planned and not over. The
    visit itself waits for its new day's plan. Returns True when a re-plan was queued."""
    return await _after_cancel(session, visit, now, day=old_day, why="moved")


async def _after_cancel(
    session: AsyncSession,
    visit: Visit,
    now: datetime,
    *,
    day: date | None = None,
    why: str = "cancelled",
) -> bool:
    day = visit.day if day is None else day
    await queue.drop_stop(session, visit)
    clinic_tz = await _clinic_tz(session, visit.clinic_id)
    if day < now.astimezone(clinic_tz).date():
        return False
    if not await queue.day_is_planned(session, visit.clinic_id, day):
        return False
    await queue.enqueue(
        session, visit.clinic_id, day, "replan", now, reason=f"visit {visit.code} {why}"
    )
    return True


async def _clinic_tz(session: AsyncSession, clinic_id: int) -> ZoneInfo:
    name = await session.scalar(select(Clinic.timezone).where(Clinic.id == clinic_id))
    return ZoneInfo(name or "Asia/Makassar")


async def replan_if_planned(
    session: AsyncSession, clinic_id: int, day: date, now: datetime, reason: str
) -> bool:
    """Staffing changed for `day` (leave approved, recorded or refused): when that day already has
    routes and is not over, queue its re-plan (runs after the commit). Returns True when queued."""
    if day < now.astimezone(await _clinic_tz(session, clinic_id)).date():
        return False
    if not await queue.day_is_planned(session, clinic_id, day):
        return False
    await queue.enqueue(session, clinic_id, day, "replan", now, reason=reason)
    return True


async def replan_after_reassign(
    session: AsyncSession, *, clinic_id: int, day: date, now: datetime
) -> None:
    """A head moved a visit to another nurse: re-time the day (queued, runs after the commit)."""
    await queue.enqueue(session, clinic_id, day, "replan", now, reason="visit reassigned by a head")


async def queue_urgent_insert(session: AsyncSession, visit: Visit, now: datetime) -> PlanRun:
    """A same-day visit (e.g. an urgent one a head booked by phone, status requested, no nurse)
    goes into today's routes at least cost after the commit; the others keep nurse and order."""
    return await queue.enqueue(
        session, visit.clinic_id, visit.day, "insert", now, reason=f"visit {visit.code} added"
    )


@dataclass(frozen=True)
class SickResult:
    queued: bool
    visits_affected: int


async def nurse_reports_sick(
    session: AsyncSession, config: Config, nurse: Nurse, account: Account, now: datetime
) -> SickResult:
    """The nurse cannot work (the rest of) today: leave from now, heads told, re-plan queued.

    Stops she has started stay with her; the others go to colleagues or are left unplaced with
    a reason (families told by the re-plan).
    """
    tz = config.clinic.tz
    local = now.astimezone(tz)
    today = local.date()
    until = local.time().replace(microsecond=0)
    leave = await session.scalar(
        select(NurseLeave).where(NurseLeave.nurse_id == nurse.id, NurseLeave.day == today)
    )
    if leave is None:
        leave = NurseLeave(nurse_id=nurse.id, day=today)
        session.add(leave)
    start = nurse.shift_start
    if leave.available_from is not None and leave.available_until is not None:
        start = max(start, leave.available_from)
        until = min(until, leave.available_until)
    leave.kind = "sick"
    leave.approved = True
    if until <= start:
        leave.available_from = leave.available_until = None  # the whole day
    else:
        leave.available_from, leave.available_until = start, until
    open_visits = list(
        await session.scalars(
            select(Visit).where(
                Visit.nurse_id == nurse.id,
                Visit.day == today,
                Visit.status.in_(sorted(ASSIGNED)),
            )
        )
    )
    session.add(
        StaffTask(
            clinic_id=nurse.clinic_id,
            kind="nurse_sick",
            account_id=account.id,
            detail=f"{nurse.name}: sick from {local:%H:%M}, {len(open_visits)} visits to move"[
                :300
            ],
            created_at=now,
        )
    )
    await tell.tell_heads(
        session,
        nurse.clinic_id,
        "nurse.heads_sick",
        {"name": nurse.name, "at": local.time(), "visits": len(open_visits)},
        f"sick:{nurse.id}:{today.isoformat()}",
    )
    await session.flush()
    queued = False
    if open_visits:
        await queue.enqueue(
            session, nurse.clinic_id, today, "replan", now, reason=f"nurse {nurse.id} sick"
        )
        queued = True
    return SickResult(queued, len(open_visits))


async def nurse_cannot_come(
    session: AsyncSession,
    config: Config,
    nurse: Nurse,
    account: Account,
    visit: Visit,
    now: datetime,
) -> bool:
    """The nurse cannot make this visit: heads told; when it has not started it is re-planned
    today without her (True). Once she is on the way only a head can change it (False)."""
    patient = await session.get(Patient, visit.patient_id)
    session.add(
        StaffTask(
            clinic_id=visit.clinic_id,
            kind="nurse_cannot_come",
            patient_id=visit.patient_id,
            visit_id=visit.id,
            account_id=account.id,
            detail=f"{visit.code}: {nurse.name} cannot come ({visit.status})"[:300],
            created_at=now,
        )
    )
    started = visit.status not in ASSIGNED
    await tell.tell_heads(
        session,
        visit.clinic_id,
        "nurse.heads_cannot_come",
        {
            "name": nurse.name,
            "code": visit.code,
            "patient_first": tell.first_name(patient.full_name if patient else None),
            "started": started,
        },
        f"cannot-come:{visit.id}:{nurse.id}",
    )
    await session.flush()
    if started:
        return False
    await queue.drop_stop(session, visit)
    await queue.enqueue(
        session,
        visit.clinic_id,
        visit.day,
        "replan",
        now,
        reason=f"nurse {nurse.id} cannot come to visit {visit.code}",
    )
    return True
