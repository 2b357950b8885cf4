"""Planning jobs for every clinic: the nightly plan, the nurses' morning routes, the workers.

* At `[schedule] plan_at` (each clinic's own time zone) the clinic's next day is planned when it
  is a working day there (Sundays, public holidays and the clinic's closures are skipped through
  `scheduler.booking`'s calendar): booking closes day D at plan_at on D−1, so the plan sees every
  request for D.
* At `[schedule] routes_at` each nurse gets her route for today (once per nurse and day).
* One planning worker per clinic runs its queued plan runs (/rencana, a cancellation, a sick
  nurse) outside any update's transaction; after a same-day change, nurses who already had
  today's route get the new one.
`register` catches up what a stopped process missed (today's routes, tonight's plan).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.triggers.cron import CronTrigger

from db.services import planning
from db.services.planning import PlanningWorker, PlanOutcome
from db.types import utcnow

if TYPE_CHECKING:
    from bot.jobs import JobRunner
    from homecare.config import Config

log = logging.getLogger(__name__)


def job_id(base: str, code: str, first: bool) -> str:
    """The first clinic keeps the plain job id ("planning:nightly"); others add their code."""
    return base if first else f"{base}:{code}"


class ClinicPlanning:
    """One clinic's nightly plan, morning routes and planning worker."""

    def __init__(self, runner: JobRunner, clinic_id: int, config: Config) -> None:
        self.runner = runner
        self.hc = runner.hc
        self.clinic_id = clinic_id
        self.config = config
        self.worker: PlanningWorker | None = None
        self._task: asyncio.Task[None] | None = None

    async def register(self, first: bool) -> None:
        cfg = self.config
        tz, code = cfg.clinic.timezone, cfg.clinic.code
        plan_at, routes_at = cfg.schedule.plan_at, cfg.schedule.routes_at
        scheduler = self.runner.scheduler
        scheduler.add_job(
            self.nightly,
            CronTrigger(hour=plan_at.hour, minute=plan_at.minute, timezone=tz),
            id=job_id(PlanningJobs.NIGHTLY, code, first),
            replace_existing=True,
        )
        scheduler.add_job(
            self.morning_routes,
            CronTrigger(hour=routes_at.hour, minute=routes_at.minute, timezone=tz),
            id=job_id(PlanningJobs.ROUTES, code, first),
            replace_existing=True,
        )
        self.worker = PlanningWorker(self.hc.db, cfg, self.clinic_id, on_done=self._after_run)
        self.worker.register()
        await self.worker.recover()
        self._task = asyncio.create_task(self._catch_up_then_work(), name=f"planning-worker-{code}")

    async def unregister(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker.unregister()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _catch_up_then_work(self) -> None:
        try:
            await self.catch_up(utcnow())
        except Exception:
            log.exception("planning catch-up failed; the scheduled jobs will try again")
        assert self.worker is not None
        await self.worker.run_forever()

    async def _rules(self, now: datetime) -> Any:
        from db.services.booking import load_rules

        async with self.hc.db.read() as session:
            return await load_rules(session, self.config, self.clinic_id, now)

    async def nightly(self, now: datetime | None = None) -> list[PlanOutcome]:
        """Plan tomorrow (if it is a working day and not planned since today's plan_at)."""
        from scheduler.booking import is_working_day

        now = now or utcnow()
        day = now.astimezone(self.config.clinic.tz).date() + timedelta(days=1)
        if not is_working_day(await self._rules(now), day):
            log.info("nightly plan %s: %s is not a working day", self.config.clinic.code, day)
            return []
        return await self.plan(day, now, "nightly")

    async def plan(self, day: Any, now: datetime, kind: str) -> list[PlanOutcome]:
        """Queue a run for `day` (unless one is already queued or done since plan_at) and run
        it; returns its outcome (empty when there was nothing to do)."""
        run_id = None
        clinic_id = self.clinic_id
        async with self.hc.db.transaction() as session:
            if await planning.nightly_run_due(session, self.config, clinic_id, day, now):
                run = await planning.enqueue(session, clinic_id, day, kind, now, reason=kind)
                run_id = run.id
        if run_id is None:
            return []
        assert self.worker is not None
        outcome = await self.worker.run_until_done(run_id, now)
        return [outcome] if outcome is not None else []

    async def morning_routes(self, now: datetime | None = None) -> int:
        """Each nurse's route for today (text, Maps links, picture); once per nurse and day."""
        from db.services.route_digest import queue_route_digests
        from scheduler.booking import is_working_day

        now = now or utcnow()
        today = now.astimezone(self.config.clinic.tz).date()
        if not is_working_day(await self._rules(now), today):
            return 0
        sent = await queue_route_digests(self.hc.db, self.config, self.clinic_id, today, now)
        if sent:
            self.hc.relay.wake()
            log.info("morning routes queued for %d nurse(s)", sent)
        return sent

    async def _after_run(self, outcome: PlanOutcome) -> None:
        self.hc.relay.wake()
        self.hc.metrics.plan_finished(outcome.kind, outcome.status, outcome.runtime_s)
        if outcome.status != "done" or not outcome.changed_nurses:
            return
        from db.services.route_digest import queue_route_digests

        # Nurses who already have today's route hear about the change; the others get the
        # morning digest as usual.
        async with self.hc.db.read() as session:
            told = [
                n
                for n in outcome.changed_nurses
                if await planning.digest_was_queued(session, n, outcome.day)
            ]
        if told:
            await queue_route_digests(
                self.hc.db,
                self.config,
                self.clinic_id,
                outcome.day,
                utcnow(),
                nurse_ids=told,
                update_of_run=outcome.run_id,
            )
            self.hc.relay.wake()

    async def catch_up(self, now: datetime) -> None:
        """What a process that was down missed: today's plan and routes, tonight's plan (a day
        is planned here only when requests are waiting for it)."""
        from scheduler.booking import is_working_day

        cfg, clinic_id = self.config, self.clinic_id
        local = now.astimezone(cfg.clinic.tz)
        rules = await self._rules(now)
        today = local.date()
        in_hours = local.time() < cfg.clinic.working_hours[1]
        if is_working_day(rules, today) and in_hours:
            async with self.hc.db.read() as session:
                missed = not await planning.day_has_run(
                    session, clinic_id, today
                ) and await planning.has_requests(session, clinic_id, today)
            if missed:
                await self.plan(today, now, "nightly")
            if local.time() >= cfg.schedule.routes_at:
                await self.morning_routes(now)
        tomorrow = today + timedelta(days=1)
        if local.time() >= cfg.schedule.plan_at and is_working_day(rules, tomorrow):
            async with self.hc.db.read() as session:
                waiting = await planning.has_requests(session, clinic_id, tomorrow)
            if waiting:
                await self.plan(tomorrow, now, "nightly")


class PlanningJobs:
    """Every clinic's planning (`ClinicPlanning`); called without a clinic, a job runs for each
    clinic in turn. `worker` is the first clinic's (one-clinic installs and their tests)."""

    NIGHTLY = "planning:nightly"
    ROUTES = "planning:routes"

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc
        self.clinics: dict[int, ClinicPlanning] = {}

    @property
    def worker(self) -> PlanningWorker | None:
        first = next(iter(self.clinics.values()), None)
        return first.worker if first is not None else None

    def of(self, clinic_id: int | None) -> list[ClinicPlanning]:
        if clinic_id is None:
            return list(self.clinics.values())
        return [self.clinics[clinic_id]]

    async def register(self) -> None:
        for i, (clinic_id, config) in enumerate(self.hc.clinics.scopes()):
            one = self.clinics[clinic_id] = ClinicPlanning(self.runner, clinic_id, config)
            await one.register(first=i == 0)

    async def unregister(self) -> None:
        for one in self.clinics.values():
            await one.unregister()

    async def nightly(
        self, now: datetime | None = None, clinic_id: int | None = None
    ) -> list[PlanOutcome]:
        outcomes: list[PlanOutcome] = []
        for one in self.of(clinic_id):
            outcomes += await one.nightly(now)
        return outcomes

    async def plan(
        self, day: Any, now: datetime, kind: str, clinic_id: int | None = None
    ) -> list[PlanOutcome]:
        return await self.of(clinic_id or self.hc.clinic_id)[0].plan(day, now, kind)

    async def morning_routes(
        self, now: datetime | None = None, clinic_id: int | None = None
    ) -> int:
        return sum([await one.morning_routes(now) for one in self.of(clinic_id)])

    async def catch_up(self, now: datetime) -> None:
        for one in self.clinics.values():
            await one.catch_up(now)
