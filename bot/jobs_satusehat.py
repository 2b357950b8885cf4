"""The daily SATUSEHAT submission at `[satusehat] submit_at` (clinic time).

Registered by bot/jobs.py's JobRunner like its other jobs (misfire tolerant: late runs still
run once). Each run is built from the database (db/services/satusehat_runs.py): what is
finished and not yet accepted is sent, nothing is held in memory. A process that was down at
submit_at catches up at start when today has no run yet.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger

from db.services import satusehat_runs
from db.types import utcnow
from homecare.config_checks import parse_time
from homecare.errors import SatusehatError

if TYPE_CHECKING:
    from bot.jobs import JobRunner

log = logging.getLogger(__name__)


class SatusehatJobs:
    JOB = "satusehat:daily"

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc

    async def register(self) -> None:
        sat = self.hc.config.satusehat
        if not sat.enabled or not sat.submit_at:
            return
        at, tz = parse_time(sat.submit_at), self.hc.config.clinic.timezone
        self.runner.scheduler.add_job(
            self.send,
            CronTrigger(hour=at.hour, minute=at.minute, timezone=tz),
            id=self.JOB,
            replace_existing=True,
        )
        now = utcnow()
        local = now.astimezone(self.hc.config.clinic.tz)
        if local.time() >= at:
            midnight = datetime.combine(local.date(), time(0), local.tzinfo)
            async with self.hc.db.read() as session:
                done = await satusehat_runs.ran_since(session, self.hc.clinic_id, midnight)
            if not done:
                try:
                    await self.send(now)
                except Exception:
                    log.exception("SATUSEHAT catch-up failed; tomorrow's run will try again")

    async def send(self, now: datetime | None = None) -> satusehat_runs.Daily:
        from homecare.satusehat import SatusehatClient

        now = now or utcnow()
        config = self.hc.config
        try:
            client = SatusehatClient(config.satusehat)
        except SatusehatError as exc:
            outcome = await satusehat_runs.not_started(self.hc.db, config, exc, now)
        else:
            async with client:
                outcome = await satusehat_runs.daily(self.hc.db, config, client, now)
        if outcome.ok:
            log.info("SATUSEHAT: %d visit(s) sent", outcome.sent)
        else:
            log.warning("SATUSEHAT submission failed (%s); next run tomorrow", outcome.reason)
            self.hc.relay.wake()
        return outcome
