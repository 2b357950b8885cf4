"""Planning, stage 3b: apply a solved plan to the database in the write transaction — the day's
`Route`s and `RouteStop`s, each visit's nurse and planned times, status changes (actor: system),
staff tasks for unplaced visits, reminders, and what families and the asking head are told.

The rows were built before the lock (prepare.py); here they are only executed, a few batched
statements per table, so the write lock (every person's update waits for it on SQLite) is held
for as little as possible. Everything happens in the caller's one transaction: a failure
anywhere leaves no part of the plan behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.bulk import Groups
from db.models import Account, Base, DayCapacity, PlanRun, Reminder, Route, RouteStop, Visit
from db.services.planning import prepare, tell
from db.services.planning.prepare import Built, FamilyNote, Snapshot
from db.services.planning.read import DayFacts
from db.services.planning.solve import Solved
from db.services.reminders import mark_changed
from homecare.config import Config
from homecare.threads import cpu_in_thread

__all__ = ["FamilyNote", "PlanWrite", "execute"]

NO_SYNC = {"synchronize_session": False}


class PlanWrite:
    """One plan's write: `prepare()` before the lock, `apply(session)` inside it."""

    def __init__(
        self, config: Config, facts: DayFacts, solved: Solved, run_id: int, now: datetime
    ) -> None:
        self.config, self.facts, self.solved, self.run_id, self.now = (
            config,
            facts,
            solved,
            run_id,
            now,
        )
        self.snapshot: Snapshot | None = None
        self.built: Built | None = None
        self.rebuilt = False  # the snapshot changed before the lock: rows built again under it

    async def _build(self, snap: Snapshot) -> Built:
        # Pure Python over plain data: in a worker thread, so the event loop stays free.
        args = (self.config, self.facts, self.solved, snap, self.run_id, self.now)
        return await cpu_in_thread(prepare.build, *args)

    async def prepare(self, session: AsyncSession) -> None:
        """Read the snapshot (a read transaction) and build the rows from it."""
        self.snapshot = await prepare.read_snapshot(session, self.facts, self.solved, self.run_id)
        self.built = await self._build(self.snapshot)

    async def apply(self, session: AsyncSession, run: PlanRun) -> Built:
        """In the write transaction: check the snapshot still holds, then execute the rows."""
        now_seen = await prepare.read_snapshot(session, self.facts, self.solved, self.run_id)
        if self.built is None or now_seen != self.snapshot:
            self.snapshot, self.built = now_seen, await self._build(now_seen)
            self.rebuilt = True
        await execute(session, self.facts, self.built, self.now)
        await _tell_heads(session, self.facts, self.solved, run, self.built)
        return self.built


async def _update_by_id(
    session: AsyncSession, model: type[Base], rows: Sequence[dict[str, Any]]
) -> None:
    """UPDATE … WHERE id = ?: one executemany per set of columns, in Core (the rows' keys are
    column names; the ORM's bulk path costs several times more per row, on the event loop)."""
    table = _table(model)
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(frozenset(row), []).append(row)
    for keys, group in groups.items():
        columns = sorted(keys - {"id"})
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        params = [{"row_id": r["id"], **{f"new_{c}": r[c] for c in columns}} for r in group]
        await session.execute(statement, params)


async def _insert(session: AsyncSession, groups: Groups) -> None:
    """One Core executemany per group (keys are column names; as `bulk.insert_groups`,
    without the ORM's per-row bulk bookkeeping)."""
    for model, rows in groups:
        await session.execute(insert(_table(model)), rows)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def execute(session: AsyncSession, facts: DayFacts, built: Built, now: datetime) -> None:
    """The plan's rows, in the order the one-visit-at-a-time write gave them their ids."""
    if built.old_routes:
        await session.execute(
            delete(RouteStop).where(RouteStop.route_id.in_(built.old_routes)),
            execution_options=NO_SYNC,
        )
    if built.routes_gone:
        await session.execute(
            delete(Route).where(Route.id.in_(built.routes_gone)), execution_options=NO_SYNC
        )
    await _update_by_id(session, Route, built.routes_kept)
    if built.routes_new:
        await _insert(session, [(Route, built.routes_new)])
    route_of = {
        nurse_id: route_id
        for route_id, nurse_id in await session.execute(
            select(Route.id, Route.nurse_id).where(
                Route.clinic_id == facts.clinic_id, Route.day == facts.day
            )
        )
    }
    stops = [
        {**row, "route_id": route_of[nurse_id]} for nurse_id, rows in built.stops for row in rows
    ]
    await _insert(session, [(RouteStop, stops)] if stops else [])
    await _update_by_id(session, Visit, built.visit_changes)
    if built.released_min > 0:
        await session.execute(
            update(DayCapacity)
            .where(DayCapacity.clinic_id == facts.clinic_id, DayCapacity.day == facts.day)
            .values(remaining_min=DayCapacity.remaining_min + built.released_min, updated_at=now),
            execution_options=NO_SYNC,
        )
    for clinic_id, params, key in built.far_pins:
        await tell.tell_heads(session, clinic_id, "location.head_unplaced", params, key=key)
    await _insert(session, built.tasks)
    await _insert(session, built.history)
    await _insert(session, built.notices)
    await _insert(session, built.reminders_new)
    await _update_by_id(session, Reminder, built.reminder_changes)
    if built.reminders_new or built.reminder_changes:
        mark_changed(session)


async def _tell_heads(
    session: AsyncSession, facts: DayFacts, solved: Solved, run: PlanRun, built: Built
) -> None:
    """The report to whoever asked (/rencana); heads see unplaced visits as staff tasks."""
    if run.requested_by_account_id is None:
        return
    account = await session.get(Account, run.requested_by_account_id)
    if account is None or account.deleted_at is not None:
        return
    report = tell.report(facts.day, run.kind, solved.plan, built.newly_unplaced)
    await tell.tell_report(session, account, facts.clinic_id, report, run.id)
