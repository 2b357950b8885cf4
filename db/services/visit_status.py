"""The one way a visit's status changes: checked by `scheduler.visits`, recorded with actor, time.

Everyone who changes a status (patient flow, nurse flow, planner, heads' commands, jobs) calls
`change_status`; it refuses what the rulebook refuses, writes the history row, and gives the day's
booked minutes back when the visit stops needing nurse time (cancel, referral, not placed).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DayCapacity, Visit, VisitStatusChange
from scheduler.visits import INITIAL_STATUS, Actor, Transition, VisitStatus, transition

NOTE_MAX = 300


async def record_created(
    session: AsyncSession,
    visit: Visit,
    actor_role: Actor | str,
    actor_account_id: int | None,
    now: datetime,
    note: str | None = None,
) -> None:
    """The first history row of a new visit (no previous status)."""
    visit.status = INITIAL_STATUS.value
    session.add(
        VisitStatusChange(
            visit_id=visit.id,
            from_status=None,
            to_status=INITIAL_STATUS.value,
            actor_account_id=actor_account_id,
            actor_role=str(Actor(actor_role)),
            note=note[:NOTE_MAX] if note else None,
            at=now,
        )
    )
    await session.flush()


async def release_capacity(session: AsyncSession, visit: Visit, now: datetime) -> None:
    """Give the visit's booked minutes back to its day (never above the day's total)."""
    if visit.capacity_min <= 0:
        return
    await session.execute(
        update(DayCapacity)
        .where(DayCapacity.clinic_id == visit.clinic_id, DayCapacity.day == visit.day)
        .values(remaining_min=DayCapacity.remaining_min + visit.capacity_min, updated_at=now)
    )
    visit.capacity_min = 0


async def change_status(
    session: AsyncSession,
    visit: Visit,
    target: VisitStatus | str,
    actor_role: Actor | str,
    actor_account_id: int | None,
    note: str | None,
    now: datetime,
    *,
    keep: list[Any] | None = None,
) -> Transition:
    """Move `visit` to `target` as `actor_role`; raises `scheduler.visits.TransitionError`.

    Side effects that belong to every such change happen here: the history row, `updated_at`,
    capacity given back (`Transition.releases_capacity`), and a visit sent back to the planning
    queue loses its nurse and planned times (`Transition.returns_to_queue`). Messages and
    reminders are the caller's: it knows who should hear what.
    """
    capacity = visit.capacity_min
    change, values = moved(visit, target, actor_role, actor_account_id, note, now)
    if change.releases_capacity:
        visit.capacity_min = capacity
        await release_capacity(session, visit, now)
    row = VisitStatusChange(**values)
    if keep is not None:  # a batch writer inserts its rows at once
        keep.append(row)
    else:
        session.add(row)
        await session.flush()
    return change


def moved(
    visit: Visit,
    target: VisitStatus | str,
    actor_role: Actor | str,
    actor_account_id: int | None,
    note: str | None,
    now: datetime,
) -> tuple[Transition, dict[str, Any]]:
    """`change_status` without the database: the visit changed in memory (capacity_min 0 when
    the change gives the day's minutes back, which the caller then adds to the day's pool) and
    its history row's values. For the plan's write, which builds its rows before the lock."""
    change = transition(visit.status, target, actor_role)
    visit.status = change.target.value
    visit.updated_at = now
    if change.releases_capacity:
        visit.capacity_min = 0
    if change.returns_to_queue:
        visit.nurse_id = None
        visit.planned_arrival = None
        visit.planned_start = None
        visit.planned_end = None
        visit.confirmation = None
    row = {
        "visit_id": visit.id,
        "from_status": change.source.value,
        "to_status": change.target.value,
        "actor_account_id": actor_account_id,
        "actor_role": change.actor.value,
        "note": note[:NOTE_MAX] if note else None,
        "at": now,
    }
    return change, row


async def record_event(
    session: AsyncSession,
    visit: Visit,
    detail: dict[str, Any],
    actor_role: Actor | str,
    actor_account_id: int | None,
    now: datetime,
    *,
    keep: list[Any] | None = None,
) -> None:
    """A history row for a change that keeps the status (a reschedule, a new nurse or time), so
    the family's export and the head's log can tell it; `detail["event"]` says which."""
    row = VisitStatusChange(**event_values(visit, detail, actor_role, actor_account_id, now))
    if keep is not None:
        keep.append(row)
    else:
        session.add(row)
        await session.flush()


def event_values(
    visit: Visit,
    detail: dict[str, Any],
    actor_role: Actor | str,
    actor_account_id: int | None,
    now: datetime,
) -> dict[str, Any]:
    """`record_event`'s row as values (the plan's write builds its rows before the lock)."""
    return {
        "visit_id": visit.id,
        "from_status": visit.status,
        "to_status": visit.status,
        "actor_account_id": actor_account_id,
        "actor_role": str(Actor(actor_role)),
        "detail": detail,
        "at": now,
    }
