"""The visit log the heads review: filtered, paginated lists and one visit in full.

Reading a visit in full is a staff view of a patient's details: `detail` appends an audit entry
(`audit.VIEW_VISIT`) in the caller's transaction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Feedback, Nurse, Patient, Visit, VisitSeries, VisitStatusChange
from db.services import access, audit
from scheduler.booking import parse_request_code

PAGE_SIZE = 8
MAX_RANGE_DAYS = 366
MAX_TEXT = 100


@dataclass(frozen=True)
class LogFilter:
    start: date
    end: date
    nurse_id: int | None = None
    status: str | None = None
    kelurahan: str | None = None
    service_type: str | None = None
    # Free text: the visit code, the patient's name, address, kelurahan, landmark, the notes.
    text: str | None = None

    def with_(self, **changes: Any) -> LogFilter:
        return replace(self, **changes)


@dataclass(frozen=True)
class LogItem:
    visit_id: int
    code: str
    day: date
    window_start: time
    status: str
    nurse_name: str | None
    kelurahan: str | None
    service_type: str
    # Part of a recurring series, or a follow-up of another visit (marked in the list).
    in_series: bool = False


@dataclass(frozen=True)
class LogPage:
    items: tuple[LogItem, ...]
    page: int
    pages: int
    total: int


def conditions(clinic_id: int, f: LogFilter) -> list[Any]:
    cond: list[Any] = [Visit.clinic_id == clinic_id, Visit.day >= f.start, Visit.day <= f.end]
    if f.nurse_id is not None:
        cond.append(Visit.nurse_id == f.nurse_id)
    if f.status is not None:
        cond.append(Visit.status == f.status)
    if f.kelurahan is not None:
        cond.append(Patient.kelurahan == f.kelurahan)
    if f.service_type is not None:
        cond.append(Visit.service_type == f.service_type)
    if f.text:
        cond.append(text_condition(f.text))
    return cond


# "!" rather than a backslash: the same ESCAPE literal reads alike on PostgreSQL and SQLite.
LIKE_ESCAPE = "!"


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '!': the person's own %, _ and ! match only themselves."""
    e = LIKE_ESCAPE
    escaped = text.replace(e, e + e).replace("%", e + "%").replace("_", e + "_")
    return f"%{escaped}%"


def text_condition(text: str) -> Any:
    """Case-insensitive containment in the visit's code and notes and the patient's name and
    address (ILIKE on PostgreSQL, lower() LIKE on SQLite). A typed code ("xwz-2gh") also
    finds its visit exactly. An erased patient's name and address are no longer searched."""

    def has(column: Any, value: str) -> Any:
        return column.ilike(like_pattern(value), escape=LIKE_ESCAPE)

    terms: list[Any] = [
        has(Visit.nurse_note, text),
        has(Patient.kelurahan, text),
        and_(
            Patient.deleted_at.is_(None),
            or_(
                has(Patient.full_name, text),
                has(Patient.address, text),
                has(Patient.landmark, text),
            ),
        ),
    ]
    # Codes are stored without their separator ("XWZ2GH", shown "XWZ-2GH").
    bare = "".join(c for c in text if c not in " -")
    if bare:
        terms.append(has(Visit.code, bare))
    canonical = parse_request_code(text)
    if canonical is not None:
        terms.append(Visit.code == canonical)
    return or_(*terms)


async def search(session: AsyncSession, clinic_id: int, f: LogFilter, page: int = 0) -> LogPage:
    """One page of the clinic's visits matching `f`, newest day first. A page past the end gives
    the last page."""
    cond = conditions(clinic_id, f)
    total = (
        await session.scalar(
            select(func.count())
            .select_from(Visit)
            .join(Patient, Patient.id == Visit.patient_id)
            .where(*cond)
        )
        or 0
    )
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    rows = await session.execute(
        select(Visit, Patient.kelurahan, Nurse.name)
        .join(Patient, Patient.id == Visit.patient_id)
        .outerjoin(Nurse, Nurse.id == Visit.nurse_id)
        .where(*cond)
        .order_by(Visit.day.desc(), Visit.window_start, Visit.id)
        .offset(page * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    items = tuple(
        LogItem(
            v.id,
            v.code,
            v.day,
            v.window_start,
            v.status,
            nurse,
            kel,
            v.service_type,
            in_series=v.series_id is not None or v.follow_up_of is not None,
        )
        for v, kel, nurse in rows
    )
    return LogPage(items, page, pages, total)


@dataclass(frozen=True)
class HistoryLine:
    at: datetime  # clinic-local
    from_status: str | None
    to_status: str
    actor_role: str
    actor_name: str | None
    note: str | None


@dataclass(frozen=True)
class SeriesInfo:
    id: int
    rule: str  # scheduler.series key form
    cancelled: bool


@dataclass(frozen=True)
class VisitDetail:
    visit_id: int
    code: str
    day: date
    window_start: time
    window_end: time
    service_type: str
    priority: str
    status: str
    complaint: str | None
    patient_name: str | None
    patient_age: int | None
    patient_sex: str | None
    patient_phone: str | None
    kelurahan: str | None
    nurse_id: int | None
    nurse_name: str | None
    planned_start: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    confirmation: str | None
    cancel_reason: str | None
    unplaced_reason: str | None
    nurse_note: str | None
    vitals: dict[str, Any]
    rating: int | None
    feedback_comment: str | None
    history: tuple[HistoryLine, ...]
    series: SeriesInfo | None = None
    follow_up_of_code: str | None = None


def _age(birth: date | None, on: date) -> int | None:
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    return at.astimezone(tz) if at else None


async def detail(
    session: AsyncSession,
    clinic_id: int,
    visit_id: int,
    tz: ZoneInfo,
    *,
    viewer: Account,
    viewer_role: str,
    now: datetime,
) -> VisitDetail | None:
    """One visit of the clinic in full (None when not this clinic's), audited as a view."""
    visit = await access.head_visit(session, clinic_id, visit_id)
    if visit is None:
        return None
    patient = await session.get(Patient, visit.patient_id)
    nurse = await session.get(Nurse, visit.nurse_id) if visit.nurse_id else None
    feedback = await session.scalar(select(Feedback).where(Feedback.visit_id == visit.id))
    hist = await session.execute(
        select(VisitStatusChange, Account.first_name)
        .outerjoin(Account, Account.id == VisitStatusChange.actor_account_id)
        .where(VisitStatusChange.visit_id == visit.id)
        .order_by(VisitStatusChange.at, VisitStatusChange.id)
    )
    history = tuple(
        HistoryLine(h.at.astimezone(tz), h.from_status, h.to_status, h.actor_role, name, h.note)
        for h, name in hist
    )
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=viewer.id,
        actor_role=viewer_role,
        action=audit.VIEW_VISIT,
        subject=f"visit:{visit.id}",
        at=now,
    )
    gone = patient is None or patient.deleted_at is not None
    series = await session.get(VisitSeries, visit.series_id) if visit.series_id else None
    origin = await session.get(Visit, visit.follow_up_of) if visit.follow_up_of else None
    return VisitDetail(
        visit_id=visit.id,
        code=visit.code,
        day=visit.day,
        window_start=visit.window_start,
        window_end=visit.window_end,
        service_type=visit.service_type,
        priority=visit.priority,
        status=visit.status,
        complaint=visit.complaint,
        patient_name=None if gone else patient.full_name,  # type: ignore[union-attr]
        patient_age=None if gone else _age(patient.birth_date, visit.day),  # type: ignore[union-attr]
        patient_sex=None if gone else patient.sex,  # type: ignore[union-attr]
        patient_phone=None if gone else patient.phone,  # type: ignore[union-attr]
        kelurahan=patient.kelurahan if patient else None,
        nurse_id=visit.nurse_id,
        nurse_name=nurse.name if nurse else None,
        planned_start=_local(visit.planned_start, tz),
        started_at=_local(visit.started_at, tz),
        completed_at=_local(visit.completed_at, tz),
        confirmation=visit.confirmation,
        cancel_reason=visit.cancel_reason,
        unplaced_reason=visit.unplaced_reason,
        nurse_note=visit.nurse_note,
        vitals=dict(visit.vitals or {}),
        rating=feedback.rating if feedback else None,
        feedback_comment=feedback.comment if feedback else None,
        history=history,
        series=(
            SeriesInfo(series.id, series.rule, series.cancelled_at is not None) if series else None
        ),
        follow_up_of_code=origin.code if origin else None,
    )
