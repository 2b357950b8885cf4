"""APScheduler jobs (nightly plan, digests, reminder sweep…), rebuilt from the database at start.

Jobs use an in-memory job store: the database owns every reminder and schedule, so nothing is lost
with the store. `misfire_grace_time=None` and `coalesce=True`: a job that became late while the
process was busy or down still runs once instead of being dropped silently (APScheduler's default
grace of 1 s drops it).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.asyncio import AsyncIOScheduler

if TYPE_CHECKING:
    from bot.app import HomecareApp

log = logging.getLogger(__name__)


class JobRunner:
    def __init__(self, hc: HomecareApp) -> None:
        self.hc = hc
        self.scheduler = AsyncIOScheduler(
            timezone=hc.config.clinic.timezone,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    async def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
