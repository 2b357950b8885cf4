"""Planning: one run (read, solve, write; again when the day changed meanwhile) and the worker
that takes queued runs one at a time, outside any update's transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, PlanRun
from db.services.patients import head_accounts
from db.services.planning import queue, tell
from db.services.planning.prepare import Built
from db.services.planning.read import DayFacts, local_today, read_day, read_fingerprint
from db.services.planning.solve import Solved, SolveOptions, solve_day
from db.services.planning.write import FamilyNote, PlanWrite
from db.session import Database
from homecare.config import Config
from scheduler.planner.io import plan_to_json, request_to_json

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4
LAST_ATTEMPT_TIME_LIMIT_S = 0.5


@dataclass(frozen=True)
class PlanOutcome:
    run_id: int
    day: date
    kind: str
    status: str  # "done" | "failed"
    mode: str = ""
    assigned: int = 0
    visits: int = 0
    unplaced: tuple[tuple[int, str], ...] = ()
    nurses_used: int = 0
    travel_s: int = 0
    distance_m: int = 0
    attempts: int = 0
    error: str | None = None
    notes: tuple[FamilyNote, ...] = ()
    changed_nurses: tuple[int, ...] = ()
    solved: Solved | None = None
    runtime_s: float = 0.0


class _Changed(Exception):
    """The day changed while the solver ran: nothing written, read and solve again."""


# --- one run ---------------------------------------------------------------------------------


async def run_plan(
    db: Database,
    config: Config,
    run_id: int,
    now: datetime,
    options: SolveOptions | None = None,
    *,
    merged: Sequence[int] = (),
) -> PlanOutcome:
    """Run the queued `PlanRun` `run_id` (marked running by the caller): read, solve, write.

    `merged` are other queued runs of the same day this run answers as well (their requesters
    get the report too).
    """
    options = options or SolveOptions()
    async with db.read() as session:
        run = await session.get(PlanRun, run_id)
        if run is None:
            raise ValueError(f"no plan run {run_id}")
        clinic_id, day, kind = run.clinic_id, run.day, run.kind
    time_limit = options.time_limit_s or config.planner.time_limit_s
    started = asyncio.get_running_loop().time()
    if day < local_today(config, now):
        return await _fail(db, config, run_id, merged, now, "day_over")
    error: str | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        limit = time_limit if attempt < MAX_ATTEMPTS else min(time_limit, LAST_ATTEMPT_TIME_LIMIT_S)
        async with db.read() as session:
            facts = await read_day(session, config, clinic_id, day, now)
        try:
            solved = await solve_day(config, facts, kind, options, limit)
        except Exception as exc:  # a bug or bad data must not kill the worker; heads are told
            log.exception("plan run %s for %s failed", run_id, day)
            error = f"{type(exc).__name__}: {exc}"
            break
        try:
            outcome = await _write(db, config, run_id, merged, facts, solved, now, attempt)
        except _Changed:
            log.info("plan run %s: the day changed while solving; again (%s)", run_id, attempt)
            continue
        return dataclasses.replace(
            outcome, runtime_s=round(asyncio.get_running_loop().time() - started, 3)
        )
    return await _fail(db, config, run_id, merged, now, error or "concurrent_changes")


async def _write(
    db: Database,
    config: Config,
    run_id: int,
    merged: Sequence[int],
    facts: DayFacts,
    solved: Solved,
    now: datetime,
    attempt: int,
) -> PlanOutcome:
    # Pure CPU, done before the write lock is taken (every other writer waits while it is held).
    request_json, result_json = request_to_json(solved.request), plan_to_json(solved.plan)
    write = PlanWrite(config, facts, solved, run_id, now)
    async with db.read() as session:
        await write.prepare(session)
    async with db.transaction() as session:
        seen = await read_fingerprint(session, facts.clinic_id, facts.day, lock=True)
        if seen != facts.fingerprint:
            raise _Changed
        run = await session.get(PlanRun, run_id)
        assert run is not None
        built = await write.apply(session, run)
        run.status = "done"
        run.finished_at = now
        run.request, run.result = request_json, result_json
        run.error = None
        await _finish_merged(session, config, run, merged, solved, built, now)
        plan = solved.plan
        t = plan.totals
        outcome = PlanOutcome(
            run_id=run_id,
            day=facts.day,
            kind=run.kind,
            status="done",
            mode=solved.mode,
            assigned=t.assigned,
            visits=t.visits,
            unplaced=tuple((int(u.visit), u.reason) for u in plan.unassigned),
            nurses_used=t.nurses_used,
            travel_s=t.travel_s,
            distance_m=t.distance_m,
            attempts=attempt,
            notes=tuple(built.notes),
            changed_nurses=tuple(sorted(built.changed_nurses)),
            solved=solved,
        )
    return outcome


async def _finish_merged(
    session: AsyncSession,
    config: Config,
    run: PlanRun,
    merged: Sequence[int],
    solved: Solved,
    built: Built,
    now: datetime,
) -> None:
    for other_id in merged:
        other = await session.get(PlanRun, other_id)
        if other is None:
            continue
        other.status = "done"
        other.finished_at = now
        other.result = {"merged_into": run.id}
        if other.requested_by_account_id is not None:
            account = await session.get(Account, other.requested_by_account_id)
            if account is None or account.deleted_at is not None:
                continue
            report = tell.report(run.day, other.kind, solved.plan, built.newly_unplaced)
            await tell.tell_report(session, account, run.clinic_id, report, other.id)


async def _fail(
    db: Database,
    config: Config,
    run_id: int,
    merged: Sequence[int],
    now: datetime,
    error: str,
) -> PlanOutcome:
    async with db.transaction() as session:
        run = await session.get(PlanRun, run_id)
        assert run is not None
        runs = [run, *[r for r in [await session.get(PlanRun, m) for m in merged] if r]]
        for r in runs:
            r.status = "failed"
            r.finished_at = now
            r.error = error[:2000]
        # Heads must know: tomorrow's families are waiting for a time.
        told: set[int] = set()
        for r in runs:
            targets = (
                [await session.get(Account, r.requested_by_account_id)]
                if r.requested_by_account_id is not None
                else await head_accounts(session, r.clinic_id)
            )
            for account in targets:
                if account is None or account.deleted_at is not None or account.id in told:
                    continue
                told.add(account.id)
                report = tell.failure(r.day, r.kind, error)
                await tell.tell_report(session, account, r.clinic_id, report, r.id)
        return PlanOutcome(run_id=run_id, day=run.day, kind=run.kind, status="failed", error=error)


# --- the worker ------------------------------------------------------------------------------


class PlanningWorker:
    """Runs queued plan runs, one at a time, outside any update's transaction.

    `on_done(outcome)` is called after each run: the app wakes the outbox relay and sends
    changed routes to nurses who already had today's (scheduler/jobs.py).
    """

    def __init__(
        self,
        db: Database,
        config: Config,
        clinic_id: int,
        *,
        on_done: Callable[[PlanOutcome], Any] | None = None,
        options: SolveOptions | None = None,
        clock: Callable[[], datetime] | None = None,
        poll_s: float = 30.0,
    ) -> None:
        self.db = db
        self.config = config
        self.clinic_id = clinic_id
        self.on_done = on_done
        self.options = options or SolveOptions()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.poll_s = poll_s
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Recent outcomes by run id (merged runs point at the outcome that answered them).
        self.recent: dict[int, PlanOutcome] = {}

    def register(self) -> None:
        """Become the worker that `enqueue` wakes after a commit (one per process)."""
        queue.set_worker(self)

    def unregister(self) -> None:
        queue.clear_worker(self)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def recover(self) -> int:
        """Runs a crash left "running" are queued again."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(PlanRun)
                .where(PlanRun.clinic_id == self.clinic_id, PlanRun.status == "running")
                .values(status="queued")
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _claim(self) -> tuple[int, list[int]] | None:
        """The oldest queued run, plus the other queued runs of its day (merged into it)."""
        async with self.db.transaction() as session:
            first = await session.scalar(
                select(PlanRun)
                .where(PlanRun.clinic_id == self.clinic_id, PlanRun.status == "queued")
                .order_by(PlanRun.id)
                .limit(1)
            )
            if first is None:
                return None
            same = list(
                await session.scalars(
                    select(PlanRun)
                    .where(
                        PlanRun.clinic_id == self.clinic_id,
                        PlanRun.status == "queued",
                        PlanRun.day == first.day,
                    )
                    .order_by(PlanRun.id)
                )
            )
            # The widest kind wins: a full re-plan covers an insertion.
            main = next((r for r in same if r.kind != "insert"), first)
            for r in same:
                r.status = "running"
            return main.id, [r.id for r in same if r.id != main.id]

    async def run_pending(self, now: datetime | None = None) -> list[PlanOutcome]:
        """Run every queued run (oldest day first); returns what happened."""
        outcomes: list[PlanOutcome] = []
        async with self._lock:
            while not self._stopping.is_set():
                claimed = await self._claim()
                if claimed is None:
                    break
                run_id, merged = claimed
                try:
                    outcome = await run_plan(
                        self.db,
                        self.config,
                        run_id,
                        now or self.clock(),
                        self.options,
                        merged=merged,
                    )
                except Exception as exc:  # never leave a run "running" behind
                    log.exception("plan run %s crashed", run_id)
                    outcome = await _fail(
                        self.db, self.config, run_id, merged, now or self.clock(), repr(exc)
                    )
                outcomes.append(outcome)
                for answered in (run_id, *merged):
                    self.recent[answered] = outcome
                while len(self.recent) > 200:
                    self.recent.pop(next(iter(self.recent)))
                if self.on_done is not None:
                    result = self.on_done(outcome)
                    if asyncio.iscoroutine(result):
                        await result
        return outcomes

    async def run_until_done(self, run_id: int, now: datetime | None = None) -> PlanOutcome | None:
        """Run the queue (or wait for the pass that is running it) and return `run_id`'s outcome."""
        await self.run_pending(now)
        return self.recent.get(run_id)

    async def run_forever(self) -> None:
        await self.recover()
        while not self._stopping.is_set():
            try:
                await self.run_pending()
            except Exception:
                log.exception("planning worker pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)
