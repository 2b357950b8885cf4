"""APScheduler jobs (nightly plan, digests, reminder sweep…), rebuilt from the database at start.

Jobs use an in-memory job store: the database owns every reminder and schedule, so nothing is lost
with the store. `misfire_grace_time=None` and `coalesce=True`: a job that became late while the
process was busy or down still runs once instead of being dropped silently (APScheduler's default
grace of 1 s drops it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.jobs_satusehat import SatusehatJobs
from db.services import erasure, escalations, planning
from db.services import reminders as reminder_service
from db.services.planning import PlanningWorker, PlanOutcome
from db.types import utcnow

if TYPE_CHECKING:
    from bot.ports import Homecare

log = logging.getLogger(__name__)


class JobRunner:
    """The scheduler and its jobs, one small class per concern (each with `register`)."""

    def __init__(self, hc: Homecare) -> None:
        self.hc = hc
        self.scheduler = AsyncIOScheduler(
            timezone=hc.config.clinic.timezone,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self.reminders = ReminderJobs(self)
        self.digests = DigestJobs(self)
        self.weekly_report = WeeklyReportJobs(self)
        self.planning = PlanningJobs(self)
        self.conversations = ConversationJobs(self)
        self.privacy = PrivacyJobs(self)

    async def start(self) -> None:
        await self.reminders.register()
        await self.digests.register()
        await self.weekly_report.register()
        await self.planning.register()
        await self.conversations.register()
        await self.privacy.register()
        await SatusehatJobs(self).register()
        self.scheduler.start()

    async def stop(self) -> None:
        self.reminders.unregister()
        await self.planning.unregister()
        if self.scheduler.running:
            # Let jobs that are running finish first: shutdown() cancels them without waiting,
            # and a job cancelled inside a database call races the engine's disposal.
            self.scheduler.pause()
            running = self._running_jobs()
            if running:
                await asyncio.wait(running, timeout=self.STOP_GRACE_S)
            self.scheduler.shutdown(wait=False)
            if running:
                await asyncio.wait(running, timeout=1.0)

    STOP_GRACE_S = 10.0

    def _running_jobs(self) -> set[asyncio.Future[Any]]:
        """Coroutine jobs in flight (APScheduler's asyncio executor keeps them privately)."""
        futures: set[asyncio.Future[Any]] = set()
        for executor in getattr(self.scheduler, "_executors", {}).values():
            futures |= {f for f in getattr(executor, "_pending_futures", ()) if not f.done()}
        return futures

    def reminders_changed(self) -> None:
        """Reminder rows changed (committed): re-arm the reminder timer. Also automatic after any
        commit that ran `db.services.reminders.sync_visit_reminders`."""
        self.reminders.changed()


# --- conversations ------------------------------------------------------------------------------


class ConversationJobs:
    """End conversations idle longer than `[schedule] conversation_idle_min`, with a message.

    A person who writes again is also told lazily; this sweep tells those who never come back, so
    nobody is left believing a half-finished booking was made.
    """

    JOB = "conversations:expire"
    EVERY_S = 60

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc

    async def register(self) -> None:
        self.runner.scheduler.add_job(
            self.sweep, IntervalTrigger(seconds=self.EVERY_S), id=self.JOB, replace_existing=True
        )

    async def sweep(self, now: datetime | None = None) -> int:
        from db.services.conversation import expire_idle_conversations

        ended = await expire_idle_conversations(
            self.hc.db, now or utcnow(), idle_min=self.hc.config.schedule.conversation_idle_min
        )
        if ended:
            self.hc.relay.wake()
        return ended


# --- privacy ------------------------------------------------------------------------------------


class PrivacyJobs:
    """Hourly (and once at start): empty raw updates and sent messages past
    `[privacy] raw_retention_hours`; then let SQLite drop the old pages from its WAL."""

    JOB = "privacy:prune"
    EVERY_S = 3600
    COMPACT_TRIES = 20

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc

    async def register(self) -> None:
        await self.prune()
        self.runner.scheduler.add_job(
            self.prune, IntervalTrigger(seconds=self.EVERY_S), id=self.JOB, replace_existing=True
        )

    async def prune(self, now: datetime | None = None) -> erasure.Pruned:
        hours = self.hc.config.privacy.raw_retention_hours
        async with self.hc.db.transaction() as session:
            pruned = await erasure.prune(session, now or utcnow(), hours)
        if pruned.inbox or pruned.outbox:
            log.info("pruned %d raw updates and %d sent messages", pruned.inbox, pruned.outbox)
            await self.compact()
        return pruned

    async def compact(self) -> bool:
        """Retried briefly: a reader holding an old snapshot makes one checkpoint partial."""
        for _ in range(self.COMPACT_TRIES):
            try:
                if await self.hc.db.compact():
                    return True
            except Exception:  # the next prune tries again; nothing is lost meanwhile
                log.exception("WAL checkpoint failed")
                return False
            await asyncio.sleep(0.25)
        return False


# --- reminders ----------------------------------------------------------------------------------


class ReminderJobs:
    """One precise timer at the earliest pending reminder, plus a sweep as a safety net.

    The timer is rebuilt from the rows at start (an overdue one fires at once; `fire_due` then
    sends or skips each by the lateness rule) and re-armed after every commit that changed rows.
    A batch of reminders due in the same minute is handled by one run, 100 rows per transaction:
    each transaction holds the write lock, and a person's update waits for the one running
    (after a plan for tomorrow at 18:00 every evening question is due at once).
    """

    NEXT = "reminders:next"
    SWEEP = "reminders:sweep"
    SWEEP_S = 60
    BATCH = 100
    FIRST_BATCH = 50  # a small first transaction: the relay starts sending sooner

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc
        self._lock = asyncio.Lock()
        self._rearm_pending = False
        self._unsubscribe: Callable[[], None] | None = None

    async def register(self) -> None:
        self._unsubscribe = reminder_service.on_change(self.changed)
        self.runner.scheduler.add_job(
            self.fire, IntervalTrigger(seconds=self.SWEEP_S), id=self.SWEEP, replace_existing=True
        )
        await self.rearm()

    def unregister(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def changed(self) -> None:
        if self._rearm_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a commit outside the bot's loop (a CLI): the sweep catches it
            return
        self._rearm_pending = True
        loop.call_soon(lambda: loop.create_task(self._rearm_later()))

    async def _rearm_later(self) -> None:
        self._rearm_pending = False
        try:
            await self.rearm()
        except Exception:
            log.exception("re-arming the reminder timer failed; the sweep will catch up")

    async def rearm(self) -> datetime | None:
        """Point the timer at the earliest pending reminder; returns its due time."""
        async with self.hc.db.read() as session:
            due = await reminder_service.next_due(session)
        scheduler = self.runner.scheduler
        if due is None:
            if scheduler.get_job(self.NEXT) is not None:
                scheduler.remove_job(self.NEXT)
            return None
        scheduler.add_job(self.fire, DateTrigger(run_date=due), id=self.NEXT, replace_existing=True)
        return due

    async def fire(self, now: datetime | None = None) -> reminder_service.Fired:
        """Send (or skip) every due reminder, then re-arm. `now` is for tests."""
        total = reminder_service.Fired()
        async with self._lock:
            limit = self.FIRST_BATCH
            while True:
                moment = now or utcnow()
                async with self.hc.db.transaction() as session:
                    fired = await reminder_service.fire_due(
                        session, self.hc.config, moment, limit=limit
                    )
                if fired.outbox_ids:
                    self.hc.relay.wake(fired.outbox_ids)
                total.sent += fired.sent
                total.skipped += fired.skipped
                total.unanswered += fired.unanswered
                total.outbox_ids += fired.outbox_ids
                if fired.handled < limit:
                    break
                limit = self.BATCH
            if total.handled:
                log.info("reminders: %d sent, %d skipped", total.sent, total.skipped)
            if total.unanswered:
                # The heads hear about unconfirmed visits right after the deadline.
                await self.runner.digests.send(moment)
            await self.rearm()
        return total


# --- the heads' digest ------------------------------------------------------------------------


class DigestJobs:
    """Open staff tasks reach the heads as one digest: every `digest_every_min` in working hours,
    and right after the confirmation deadline (whatever the hour)."""

    HOURS = "digest:hours"
    DEADLINE = "digest:deadline"

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc

    async def register(self) -> None:
        cfg = self.hc.config
        every = cfg.delivery.digest_every_min
        tz = cfg.clinic.timezone
        trigger: CronTrigger | IntervalTrigger
        if every < 60 and 60 % every == 0:
            trigger = CronTrigger(minute=f"*/{every}", timezone=tz)
        else:
            trigger = IntervalTrigger(minutes=every, timezone=tz)
        scheduler = self.runner.scheduler
        scheduler.add_job(self.tick, trigger, id=self.HOURS, replace_existing=True)
        after = datetime.combine(datetime.min, cfg.schedule.confirm_deadline) + timedelta(minutes=2)
        scheduler.add_job(
            self.send,
            CronTrigger(hour=after.hour, minute=after.minute, timezone=tz),
            id=self.DEADLINE,
            replace_existing=True,
        )

    async def tick(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        if not escalations.in_working_hours(self.hc.config.clinic, now):
            return 0
        return await self.send(now)

    async def send(self, now: datetime | None = None) -> int:
        """Queue the digest now (if any task is open); returns how many messages."""
        now = now or utcnow()
        async with self.hc.db.transaction() as session:
            ids = await escalations.queue_digest(session, self.hc.clinic_id, now)
        if ids:
            self.hc.relay.wake(ids)
            log.info("digest of open tasks queued for %d head(s)", len(ids))
        return len(ids)


# --- the heads' weekly report -------------------------------------------------------------------


class WeeklyReportJobs:
    """Last week's report to every head on Monday at `[schedule] weekly_report_at` (clinic time).

    The in-memory job store forgets a Monday the process was down for, so `register` catches up:
    past this week's report time, it sends now (the outbox's dedupe keys keep it to once a week).
    """

    JOB = "report:weekly"

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc

    async def register(self) -> None:
        cfg = self.hc.config
        at = cfg.schedule.weekly_report_at
        self.runner.scheduler.add_job(
            self.send,
            CronTrigger(
                day_of_week="mon", hour=at.hour, minute=at.minute, timezone=cfg.clinic.timezone
            ),
            id=self.JOB,
            replace_existing=True,
        )
        now = utcnow()
        local = now.astimezone(cfg.clinic.tz)
        monday = local.date() - timedelta(days=local.weekday())
        if local >= datetime.combine(monday, at, cfg.clinic.tz):
            try:
                await self.send(now)
            except Exception:
                log.exception("weekly report catch-up failed; Monday's run will try again")

    async def send(self, now: datetime | None = None) -> int:
        from bot.handlers.head_reports import send_weekly_reports

        return len(await send_weekly_reports(self.hc, now))


# --- planning and the nurses' routes (db/services/planning.py, route_digest.py) -----------------


class PlanningJobs:
    """The nightly plan, the nurses' morning routes, and the planning worker.

    * At `[schedule] plan_at` the next day is planned when it is a working day (Sundays, public
      holidays and closures are skipped through `scheduler.booking`'s calendar): booking closes
      day D at plan_at on D−1, so the plan sees every request for D.
    * At `[schedule] routes_at` each nurse gets her route for today (once per nurse and day).
    * The worker runs queued plan runs (/rencana, a cancellation, a sick nurse) outside any
      update's transaction; after a same-day change, nurses who already had today's route get
      the new one.
    `register` catches up what a stopped process missed (today's routes, tonight's plan).
    """

    NIGHTLY = "planning:nightly"
    ROUTES = "planning:routes"

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc
        self.worker: PlanningWorker | None = None
        self._task: asyncio.Task[None] | None = None

    async def register(self) -> None:
        cfg = self.hc.config
        tz = cfg.clinic.timezone
        plan_at, routes_at = cfg.schedule.plan_at, cfg.schedule.routes_at
        scheduler = self.runner.scheduler
        scheduler.add_job(
            self.nightly,
            CronTrigger(hour=plan_at.hour, minute=plan_at.minute, timezone=tz),
            id=self.NIGHTLY,
            replace_existing=True,
        )
        scheduler.add_job(
            self.morning_routes,
            CronTrigger(hour=routes_at.hour, minute=routes_at.minute, timezone=tz),
            id=self.ROUTES,
            replace_existing=True,
        )
        self.worker = PlanningWorker(self.hc.db, cfg, self.hc.clinic_id, on_done=self._after_run)
        self.worker.register()
        await self.worker.recover()
        self._task = asyncio.create_task(self._catch_up_then_work(), name="planning-worker")

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
            return await load_rules(session, self.hc.config, self.hc.clinic_id, now)

    async def nightly(self, now: datetime | None = None) -> list[PlanOutcome]:
        """Plan tomorrow (if it is a working day and not planned since today's plan_at)."""
        from scheduler.booking import is_working_day

        now = now or utcnow()
        day = now.astimezone(self.hc.config.clinic.tz).date() + timedelta(days=1)
        if not is_working_day(await self._rules(now), day):
            log.info("nightly plan: %s is not a working day", day)
            return []
        return await self.plan(day, now, "nightly")

    async def plan(self, day: Any, now: datetime, kind: str) -> list[PlanOutcome]:
        """Queue a run for `day` (unless one is already queued or done since plan_at) and run
        it; returns its outcome (empty when there was nothing to do)."""
        run_id = None
        clinic_id = self.hc.clinic_id
        async with self.hc.db.transaction() as session:
            if await planning.nightly_run_due(session, self.hc.config, clinic_id, day, now):
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
        today = now.astimezone(self.hc.config.clinic.tz).date()
        if not is_working_day(await self._rules(now), today):
            return 0
        sent = await queue_route_digests(self.hc.db, self.hc.config, self.hc.clinic_id, today, now)
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
                self.hc.config,
                self.hc.clinic_id,
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

        cfg = self.hc.config
        local = now.astimezone(cfg.clinic.tz)
        rules = await self._rules(now)
        today = local.date()
        in_hours = local.time() < cfg.clinic.working_hours[1]
        if is_working_day(rules, today) and in_hours:
            async with self.hc.db.read() as session:
                missed = not await planning.day_has_run(
                    session, self.hc.clinic_id, today
                ) and await planning.has_requests(session, self.hc.clinic_id, today)
            if missed:
                await self.plan(today, now, "nightly")
            if local.time() >= cfg.schedule.routes_at:
                await self.morning_routes(now)
        tomorrow = today + timedelta(days=1)
        if local.time() >= cfg.schedule.plan_at and is_working_day(rules, tomorrow):
            async with self.hc.db.read() as session:
                waiting = await planning.has_requests(session, self.hc.clinic_id, tomorrow)
            if waiting:
                await self.plan(tomorrow, now, "nightly")
