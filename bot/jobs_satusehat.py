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

from bot.jobs_planning import job_id
from db.services import satusehat_runs
from db.types import utcnow
from homecare.config_checks import parse_time
from homecare.errors import SatusehatError

if TYPE_CHECKING:
    from bot.jobs import JobRunner

log = logging.getLogger(__name__)


class SatusehatJobs:
    """One daily run per puskesmas, each as itself (its Organization and credentials; for a
    single clinic the [satusehat] ids), in its own time zone."""

    JOB = "satusehat:daily"

    def __init__(self, runner: JobRunner) -> None:
        self.runner = runner
        self.hc = runner.hc

    async def register(self) -> None:
        sat = self.hc.config.satusehat
        if not sat.enabled or not sat.submit_at:
            return
        at = parse_time(sat.submit_at)
        for n, (clinic_id, config) in enumerate(self.hc.clinics.scopes()):
            code = config.clinic.code
            self.runner.scheduler.add_job(
                self.send,
                CronTrigger(hour=at.hour, minute=at.minute, timezone=config.clinic.timezone),
                kwargs={"clinic_code": code},
                id=job_id(self.JOB, code, first=n == 0),
                replace_existing=True,
            )
            now = utcnow()
            local = now.astimezone(config.clinic.tz)
            if local.time() < at:
                continue
            midnight = datetime.combine(local.date(), time(0), local.tzinfo)
            async with self.hc.db.read() as session:
                done = await satusehat_runs.ran_since(session, clinic_id, midnight)
            if not done:
                try:
                    await self.send(now, clinic_code=code)
                except Exception:
                    log.exception("SATUSEHAT catch-up failed; tomorrow's run will try again")

    async def send(
        self, now: datetime | None = None, clinic_code: str | None = None
    ) -> satusehat_runs.Daily:
        """One clinic's run (the first clinic's when none is named)."""
        from homecare.satusehat import SatusehatClient

        now = now or utcnow()
        config = self.hc.config.for_clinic(clinic_code or self.hc.config.clinic.code)
        try:
            client = SatusehatClient(config.satusehat)
        except SatusehatError as exc:
            outcome = await satusehat_runs.not_started(self.hc.db, config, exc, now)
        else:
            async with client:
                outcome = await satusehat_runs.daily(self.hc.db, config, client, now)
        code = config.clinic.code
        if outcome.ok:
            log.info("SATUSEHAT %s: %d visit(s) sent", code, outcome.sent)
        else:
            log.warning("SATUSEHAT %s failed (%s); next run tomorrow", code, outcome.reason)
            self.hc.relay.wake()
        return outcome
