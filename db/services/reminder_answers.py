"""Answers to the evening question ("will you be at home?"): whether a button still counts,
"Ya" and "Tidak" (split from db/services/reminders.py, which fires the question)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Patient, Visit
from db.services import outbox
from db.services.escalations import KIND_UNCONFIRMED, resolve_tasks
from db.services.patients import nurse_account
from db.services.reminders import PLANNED, patient_name, sync_visit_reminders, window_start
from db.services.visit_status import change_status
from homecare.config import Config
from scheduler.visits import Actor, VisitStatus


class QuestionState(enum.StrEnum):
    OPEN = "open"
    STALE = "stale"  # the visit moved to another day, or is no longer planned
    TOO_LATE = "too_late"  # the visit's window has begun


def question_state(visit: Visit, day_ordinal: int, config: Config, now: datetime) -> QuestionState:
    """Whether a button of the evening question (for the visit on `day_ordinal`) still counts."""
    if visit.day.toordinal() != day_ordinal or VisitStatus(visit.status) not in PLANNED:
        return QuestionState.STALE
    if now >= window_start(visit, config):
        return QuestionState.TOO_LATE
    return QuestionState.OPEN


async def confirm_visit(
    session: AsyncSession, config: Config, visit: Visit, account: Account, now: datetime
) -> None:
    """ "Ya": the visit is confirmed (status and answer); a late "yes" closes the heads' task and
    tells the nurse who was asked to phone."""
    was = visit.confirmation
    if visit.status == VisitStatus.SCHEDULED.value:
        await change_status(
            session, visit, VisitStatus.CONFIRMED, Actor.PATIENT, account.id, "reminder: yes", now
        )
    visit.confirmation = "yes"
    visit.updated_at = now
    await sync_visit_reminders(session, visit, config, now)
    if was != "unanswered":
        return
    await resolve_tasks(session, kind=KIND_UNCONFIRMED, visit_id=visit.id, now=now)
    nurse = await nurse_account(session, visit.nurse_id)
    patient = await session.get(Patient, visit.patient_id)
    if nurse is None or patient is None:
        return
    await outbox.tell(
        session,
        chat_id=nurse.chat_id,
        template="reminders.nurse_confirmed_late",
        params={
            "patient": patient_name(patient),
            "day": visit.day,
            "window": [visit.window_start, visit.window_end],
        },
        kind="nurse_confirmed",
        clinic_id=visit.clinic_id,
        account_id=nurse.id,
        dedupe_key=f"confirmed-late:{visit.id}:{visit.day.isoformat()}:{nurse.id}",
    )


async def record_declined(session: AsyncSession, visit: Visit, now: datetime) -> None:
    """ "Tidak" (after the visit was cancelled by the caller): remember the answer and close an
    open "unconfirmed" task, the heads no longer need to phone."""
    visit.confirmation = "no"
    visit.updated_at = now
    await resolve_tasks(session, kind=KIND_UNCONFIRMED, visit_id=visit.id, now=now)
