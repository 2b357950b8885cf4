"""The last SATUSEHAT submission, as the console's report page shows it (counts and a reason
code from `satusehat_runs`: no names, no clinical values)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.services import satusehat_runs
from homecare.config import Config


async def last_submission(
    session: AsyncSession, config: Config, clinic_id: int
) -> dict[str, Any] | None:
    """None when SATUSEHAT is off; {"run": None} when nothing was tried yet."""
    if not config.satusehat.enabled:
        return None
    run = await satusehat_runs.last_run(session, clinic_id)
    if run is None:
        return {"run": None}
    return {
        "run": run,
        "at": run.at.astimezone(config.clinic.tz).strftime("%Y-%m-%d %H:%M"),
        "left_out": run.left_out,
    }
