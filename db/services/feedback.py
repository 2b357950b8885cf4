"""After the visit: a 1–5 rating and an optional comment (SKM style), shown to heads in aggregate.

The nurse flow calls `queue_feedback_request(session, visit, now)` in the transaction that marks
the visit completed; the family gets the rating buttons. A visit is rated once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Feedback, Visit
from db.services import outbox
from db.services.patients import my_patients, patient_accounts
from scheduler.visits import VisitStatus

COMMENT_MAX = 500


async def queue_feedback_request(session: AsyncSession, visit: Visit, now: datetime) -> int:
    """Ask the patient and caregivers to rate a completed visit; returns how many were queued.

    Idempotent (one message per visit and account), so a repeated "Selesai" asks only once.
    """
    if visit.status != VisitStatus.COMPLETED.value:
        return 0
    if await session.scalar(select(Feedback.id).where(Feedback.visit_id == visit.id)) is not None:
        return 0
    queued = 0
    for account in await patient_accounts(session, visit.patient_id):
        row = await outbox.tell(
            session,
            chat_id=account.chat_id,
            template="patient.feedback_request",
            params={"visit_id": visit.id, "code": visit.code, "day": visit.day},
            kind="feedback_request",
            clinic_id=visit.clinic_id,
            account_id=account.id,
            dedupe_key=f"feedback-request:{visit.id}:{account.id}",
            not_before=now,
        )
        queued += row is not None
    return queued


class RatingOutcome(enum.StrEnum):
    SAVED = "saved"
    NOT_YOURS = "not_yours"
    NOT_DONE = "not_done"
    ALREADY = "already"


async def record_rating(
    session: AsyncSession,
    *,
    account_id: int,
    clinic_id: int,
    visit_id: int,
    rating: int,
    now: datetime,
) -> RatingOutcome:
    if not 1 <= rating <= 5:
        raise ValueError("rating must be 1..5")
    visit = await session.get(Visit, visit_id)
    mine = {m.patient.id for m in await my_patients(session, account_id, clinic_id)}
    if visit is None or visit.clinic_id != clinic_id or visit.patient_id not in mine:
        return RatingOutcome.NOT_YOURS
    if visit.status != VisitStatus.COMPLETED.value:
        return RatingOutcome.NOT_DONE
    if await session.scalar(select(Feedback.id).where(Feedback.visit_id == visit_id)) is not None:
        return RatingOutcome.ALREADY
    session.add(Feedback(visit_id=visit_id, rating=rating, at=now))
    await session.flush()
    return RatingOutcome.SAVED


async def record_comment(session: AsyncSession, visit_id: int, comment: str) -> bool:
    """Attach the comment to the visit's rating (once); False when there is no rating."""
    row = await session.scalar(select(Feedback).where(Feedback.visit_id == visit_id))
    if row is None or row.comment:
        return False
    row.comment = comment[:COMMENT_MAX]
    return True


@dataclass(frozen=True)
class FeedbackSummary:
    count: int
    average: float | None
    by_rating: dict[int, int]
    comments: int


async def summary(
    session: AsyncSession, clinic_id: int, since: datetime, until: datetime
) -> FeedbackSummary:
    """Ratings given in [since, until) for heads' reports: count, mean, histogram (no names)."""
    rows = list(
        (
            await session.execute(
                select(Feedback.rating, func.count(), func.count(Feedback.comment))
                .join(Visit, Visit.id == Feedback.visit_id)
                .where(Visit.clinic_id == clinic_id, Feedback.at >= since, Feedback.at < until)
                .group_by(Feedback.rating)
            )
        ).all()
    )
    by_rating = {r: 0 for r in range(1, 6)}
    comments = 0
    for rating, n, with_comment in rows:
        by_rating[int(rating)] = int(n)
        comments += int(with_comment)
    count = sum(by_rating.values())
    average = sum(r * n for r, n in by_rating.items()) / count if count else None
    return FeedbackSummary(count, average, by_rating, comments)
