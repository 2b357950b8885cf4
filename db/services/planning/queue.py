"""Planning: the queue of plan runs (rows written in the caller's transaction, so a crash loses
none; the worker is woken after the commit), and what the jobs ask about it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage, PlanRun, Route, RouteStop, Visit
from db.services.planning.read import S
from homecare.config import Config

KINDS = ("nightly", "manual", "replan", "insert")


class _Wakeable(Protocol):
    def wake(self) -> None: ...


# The workers of this process (`PlanningWorker.register`; one per clinic), woken after a commit
# that queued a run (each runs only its own clinic's runs).
_workers: list[_Wakeable] = []


def set_worker(worker: _Wakeable) -> None:
    if worker not in _workers:
        _workers.append(worker)


def clear_worker(worker: _Wakeable) -> None:
    if worker in _workers:
        _workers.remove(worker)


def _wake_after_commit(session: AsyncSession) -> None:
    """Wake the running workers once this transaction commits (they read committed rows)."""
    workers = list(_workers)
    if not workers:
        return

    def wake(_session: Any) -> None:
        for worker in workers:
            worker.wake()

    event.listen(session.sync_session, "after_commit", wake, once=True)


async def enqueue(
    session: AsyncSession,
    clinic_id: int,
    day: date,
    kind: str,
    now: datetime,
    *,
    reason: str | None = None,
    requested_by_account_id: int | None = None,
) -> PlanRun:
    """Queue a planning run in the caller's transaction; the worker runs it after the commit."""
    if kind not in KINDS:
        raise ValueError(f"unknown plan run kind {kind!r}")
    run = PlanRun(
        clinic_id=clinic_id,
        day=day,
        kind=kind,
        status="queued",
        started_at=now,
        reason=(reason or "")[:200] or None,
        requested_by_account_id=requested_by_account_id,
    )
    session.add(run)
    await session.flush()
    _wake_after_commit(session)
    return run


async def day_is_planned(session: AsyncSession, clinic_id: int, day: date) -> bool:
    return (
        await session.scalar(
            select(Route.id).where(Route.clinic_id == clinic_id, Route.day == day).limit(1)
        )
    ) is not None


async def drop_stop(session: AsyncSession, visit: Visit) -> None:
    for stop in list(
        await session.scalars(select(RouteStop).where(RouteStop.visit_id == visit.id))
    ):
        await session.delete(stop)
    await session.flush()


# --- nightly ---------------------------------------------------------------------------------


async def nightly_run_due(
    session: AsyncSession, config: Config, clinic_id: int, day: date, now: datetime
) -> bool:
    """No nightly run for `day` has finished since today's `plan_at` (idempotent job)."""
    tz = config.clinic.tz
    local = now.astimezone(tz)
    since = datetime.combine(local.date(), config.schedule.plan_at, tzinfo=tz)
    if local < since:
        since -= timedelta(days=1)
    done = await session.scalar(
        select(PlanRun.id)
        .where(
            PlanRun.clinic_id == clinic_id,
            PlanRun.day == day,
            PlanRun.kind == "nightly",
            PlanRun.status.in_(["done", "queued", "running"]),
            PlanRun.started_at >= since,
        )
        .limit(1)
    )
    return done is None


async def day_has_run(session: AsyncSession, clinic_id: int, day: date) -> bool:
    """Some plan run for `day` is done, queued or running."""
    return (
        await session.scalar(
            select(PlanRun.id)
            .where(
                PlanRun.clinic_id == clinic_id,
                PlanRun.day == day,
                PlanRun.status.in_(["done", "queued", "running"]),
            )
            .limit(1)
        )
    ) is not None


async def has_requests(session: AsyncSession, clinic_id: int, day: date) -> bool:
    """Some visit of `day` waits for a plan (requested, not yet given to a nurse)."""
    return (
        await session.scalar(
            select(Visit.id)
            .where(
                Visit.clinic_id == clinic_id,
                Visit.day == day,
                Visit.status == S.REQUESTED.value,
            )
            .limit(1)
        )
    ) is not None


async def digest_was_queued(session: AsyncSession, nurse_id: int, day: date) -> bool:
    key = digest_key(nurse_id, day)
    return (
        await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    ) is not None


def digest_key(nurse_id: int, day: date) -> str:
    return f"route-digest:{nurse_id}:{day.isoformat()}"
