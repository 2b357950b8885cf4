"""The daily SATUSEHAT submission, and what heads see of it.

`daily` sends every finished visit of the last `lookback_days` that SATUSEHAT has not
accepted (db/services/satusehat.py keeps that per visit), so the run holds no state of its own:
a failed day is simply still unsent at the next run, an accepted visit is never sent again.
When it fails, each head gets one note (`satusehat.failed`, deduped per clinic, day and
reason); `last_run` is what the console's report page shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Visit
from db.models_satusehat import SatusehatRun, SatusehatSent
from db.services import outbox, satusehat
from db.services.accounts import ensure_clinic
from db.services.patients import head_accounts
from db.session import Database
from homecare.config import Config
from homecare.errors import SatusehatError


@dataclass(frozen=True)
class Daily:
    ok: bool
    sent: int
    reason: str | None = None
    told: int = 0  # heads' notes queued


def period_of(config: Config, now: datetime) -> tuple[date, date]:
    today = now.astimezone(config.clinic.tz).date()
    return today - timedelta(days=config.satusehat.lookback_days), today


async def daily(db: Database, config: Config, client: satusehat.Client, now: datetime) -> Daily:
    start, end = period_of(config, now)
    try:
        done = await satusehat.submit_period(db, config, client, start, end, kind="daily", now=now)
    except SatusehatError as exc:
        reason = satusehat.reason_of(exc)
        return Daily(False, 0, reason, await tell_heads(db, config, reason, _detail(exc), now))
    return Daily(True, done.encounters)


async def not_started(db: Database, config: Config, exc: SatusehatError, now: datetime) -> Daily:
    """The client could not even be made (no client secret): recorded and told like a failure."""
    reason = satusehat.reason_of(exc)
    async with db.transaction() as session:
        clinic_id = await _clinic(session, config)
        run = SatusehatRun(clinic_id=clinic_id, at=now, kind="daily", reason=reason)
        run.detail = _detail(exc)
        session.add(run)
    return Daily(False, 0, reason, await tell_heads(db, config, reason, _detail(exc), now))


def _detail(exc: SatusehatError) -> str:
    issues = getattr(exc, "issues", None) or [str(exc)]
    return str(issues[0])[:200]


async def _clinic(session: AsyncSession, config: Config) -> int:
    c = config.clinic
    return await ensure_clinic(session, c.code, c.name, c.timezone)


async def waiting(session: AsyncSession, clinic_id: int, start: date, end: date) -> int:
    """Finished visits of the period SATUSEHAT has not accepted."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(Visit)
            .outerjoin(SatusehatSent, SatusehatSent.visit_id == Visit.id)
            .where(
                Visit.clinic_id == clinic_id,
                Visit.status == "completed",
                Visit.day >= start,
                Visit.day <= end,
                SatusehatSent.id.is_(None),
            )
        )
        or 0
    )


async def tell_heads(db: Database, config: Config, reason: str, detail: str, now: datetime) -> int:
    """One note per head, clinic, day and reason (a second failure that day adds nothing)."""
    start, today = period_of(config, now)
    told = 0
    async with db.transaction() as session:
        clinic_id = await _clinic(session, config)
        params = {
            "reason": reason,
            "detail": detail if reason == "refused" else "",
            "waiting": await waiting(session, clinic_id, start, today),
        }
        for head in await head_accounts(session, clinic_id):
            row = await outbox.tell(
                session,
                chat_id=head.chat_id,
                template="satusehat.failed",
                params=params,
                kind="head_notice",
                clinic_id=clinic_id,
                account_id=head.id,
                dedupe_key=f"satusehat:failed:{clinic_id}:{today}:{reason}:{head.id}",
            )
            told += row is not None
    return told


async def last_run(session: AsyncSession, clinic_id: int) -> SatusehatRun | None:
    return await session.scalar(
        select(SatusehatRun)
        .where(SatusehatRun.clinic_id == clinic_id)
        .order_by(SatusehatRun.at.desc(), SatusehatRun.id.desc())
        .limit(1)
    )


async def ran_since(session: AsyncSession, clinic_id: int, since: datetime) -> bool:
    """A daily run was made at or after `since` (the catch-up at start asks for today's)."""
    found = await session.scalar(
        select(SatusehatRun.id)
        .where(
            SatusehatRun.clinic_id == clinic_id,
            SatusehatRun.kind == "daily",
            SatusehatRun.at >= since,
        )
        .limit(1)
    )
    return found is not None
