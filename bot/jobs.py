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

from bot.jobs_planning import PlanningJobs as PlanningJobs
from bot.jobs_planning import job_id
from bot.jobs_satusehat import SatusehatJobs
from db.services import erasure, escalations
from db.services import reminders as reminder_service
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
                        session,
                        self.hc.config,
                        moment,
                        limit=limit,
                        config_for=self.hc.clinics.config_for,
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
        for i, (clinic_id, cfg) in enumerate(self.hc.clinics.scopes()):
            self._register(clinic_id, cfg, first=i == 0)

    def _register(self, clinic_id: int, cfg: Any, first: bool) -> None:
        every = cfg.delivery.digest_every_min
        tz, code = cfg.clinic.timezone, cfg.clinic.code
        trigger: CronTrigger | IntervalTrigger
        if every < 60 and 60 % every == 0:
            trigger = CronTrigger(minute=f"*/{every}", timezone=tz)
        else:
            trigger = IntervalTrigger(minutes=every, timezone=tz)
        scheduler = self.runner.scheduler
        one = {"clinic_id": clinic_id}
        hours_id = job_id(self.HOURS, code, first)
        scheduler.add_job(self.tick, trigger, id=hours_id, kwargs=one, replace_existing=True)
        after = datetime.combine(datetime.min, cfg.schedule.confirm_deadline) + timedelta(minutes=2)
        scheduler.add_job(
            self.send,
            CronTrigger(hour=after.hour, minute=after.minute, timezone=tz),
            id=job_id(self.DEADLINE, code, first),
            kwargs=one,
            replace_existing=True,
        )

    async def tick(self, now: datetime | None = None, clinic_id: int | None = None) -> int:
        """The in-hours digest: each clinic by its own working hours."""
        now = now or utcnow()
        sent = 0
        for one, cfg in self.hc.clinics.scopes():
            if clinic_id in (None, one) and escalations.in_working_hours(cfg.clinic, now):
                sent += await self.send(now, one)
        return sent

    async def send(self, now: datetime | None = None, clinic_id: int | None = None) -> int:
        """Queue the digest now (if any task is open), for one clinic or each; returns how many
        messages."""
        now = now or utcnow()
        ids: list[int] = []
        async with self.hc.db.transaction() as session:
            for one, _ in self.hc.clinics.scopes():
                if clinic_id in (None, one):
                    ids += await escalations.queue_digest(session, one, now)
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
        for i, (clinic_id, cfg) in enumerate(self.hc.clinics.scopes()):
            await self._register(clinic_id, cfg, first=i == 0)

    async def _register(self, clinic_id: int, cfg: Any, first: bool) -> None:
        at, tz = cfg.schedule.weekly_report_at, cfg.clinic.tz
        self.runner.scheduler.add_job(
            self.send,
            CronTrigger(
                day_of_week="mon", hour=at.hour, minute=at.minute, timezone=cfg.clinic.timezone
            ),
            id=job_id(self.JOB, cfg.clinic.code, first),
            kwargs={"clinic_id": clinic_id},
            replace_existing=True,
        )
        now = utcnow()
        local = now.astimezone(tz)
        monday = local.date() - timedelta(days=local.weekday())
        if local >= datetime.combine(monday, at, tz):
            try:
                await self.send(now, clinic_id)
            except Exception:
                log.exception("weekly report catch-up failed; Monday's run will try again")

    async def send(self, now: datetime | None = None, clinic_id: int | None = None) -> int:
        from bot.handlers.head_reports import send_weekly_reports

        return len(await send_weekly_reports(self.hc, now, clinic_id))
