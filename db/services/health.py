"""What an operator checks first: is the database there, and is work piling up?

Read by `GET /healthz` and `GET /metrics` (bot/web/health.py). Counts and ages only: nothing
here names a person. Every query runs on an index (inbox.status, outbox (status, not_before),
reminders (status, due_at)) or on the small plan_runs table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import InboxUpdate, OutboxMessage, PlanRun, Reminder
from scheduler.reminders import ReminderState

# A pending reminder this far past its moment should have gone: the reminder job is behind.
REMINDER_LATE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class Backlog:
    inbox_pending: int
    outbox_due: int  # pending or being sent, and due now
    outbox_oldest_age_s: float  # how long the oldest due row has waited (0 when none)
    reminders_late: int
    last_plan_at: datetime | None  # the last plan run that finished, done or failed
    last_plan_status: str | None
    plans_waiting: int  # queued or running


async def backlog(session: AsyncSession, now: datetime) -> Backlog:
    inbox = await session.scalar(
        select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "pending")
    )
    due = OutboxMessage.status.in_(("pending", "sending")) & (OutboxMessage.not_before <= now)
    outbox_due, oldest = (
        await session.execute(select(func.count(), func.min(OutboxMessage.not_before)).where(due))
    ).one()
    late = await session.scalar(
        select(func.count())
        .select_from(Reminder)
        .where(
            Reminder.status == ReminderState.PENDING.value,
            Reminder.due_at < now - REMINDER_LATE_AFTER,
        )
    )
    last = (
        await session.execute(
            select(PlanRun.finished_at, PlanRun.status)
            .where(PlanRun.finished_at.is_not(None))
            .order_by(PlanRun.finished_at.desc())
            .limit(1)
        )
    ).first()
    waiting = await session.scalar(
        select(func.count()).select_from(PlanRun).where(PlanRun.status.in_(("queued", "running")))
    )
    oldest_age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return Backlog(
        inbox_pending=int(inbox or 0),
        outbox_due=int(outbox_due or 0),
        outbox_oldest_age_s=max(0.0, oldest_age),
        reminders_late=int(late or 0),
        last_plan_at=last[0] if last is not None else None,
        last_plan_status=last[1] if last is not None else None,
        plans_waiting=int(waiting or 0),
    )
