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
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.render import delivery as delivery_render
from db.services import escalations
from db.services import reminders as reminder_service
from db.types import utcnow

if TYPE_CHECKING:
    from bot.app import HomecareApp

log = logging.getLogger(__name__)


class JobRunner:
    """The scheduler and its jobs, one small class per concern (each with `register`)."""

    def __init__(self, hc: HomecareApp) -> None:
        self.hc = hc
        self.scheduler = AsyncIOScheduler(
            timezone=hc.config.clinic.timezone,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self.reminders = ReminderJobs(self)
        self.digests = DigestJobs(self)

    async def start(self) -> None:
        await self.reminders.register()
        await self.digests.register()
        self.scheduler.start()

    async def stop(self) -> None:
        self.reminders.unregister()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def reminders_changed(self) -> None:
        """Reminder rows changed (committed): re-arm the reminder timer. Also automatic after any
        commit that ran `db.services.reminders.sync_visit_reminders`."""
        self.reminders.changed()


# --- reminders ----------------------------------------------------------------------------------


class ReminderJobs:
    """One precise timer at the earliest pending reminder, plus a sweep as a safety net.

    The timer is rebuilt from the rows at start (an overdue one fires at once; `fire_due` then
    sends or skips each by the lateness rule) and re-armed after every commit that changed rows.
    A batch of reminders due in the same minute is handled by one run, 500 rows per transaction.
    """

    NEXT = "reminders:next"
    SWEEP = "reminders:sweep"
    SWEEP_S = 60
    BATCH = 500

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
            while True:
                moment = now or utcnow()
                async with self.hc.db.transaction() as session:
                    fired = await reminder_service.fire_due(
                        session, self.hc.config, moment, limit=self.BATCH
                    )
                if fired.outbox_ids:
                    self.hc.relay.wake(fired.outbox_ids)
                total.sent += fired.sent
                total.skipped += fired.skipped
                total.unanswered += fired.unanswered
                total.outbox_ids += fired.outbox_ids
                if fired.handled < self.BATCH:
                    break
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
            ids = await escalations.queue_digest(
                session, self.hc.clinic_id, delivery_render.digest, now
            )
        if ids:
            self.hc.relay.wake(ids)
            log.info("digest of open tasks queued for %d head(s)", len(ids))
        return len(ids)
