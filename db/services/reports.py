"""Weekly and monthly reports for the clinic heads.

`compute(ReportInput) -> Report` is pure: plain rows in, numbers out, so a test can count by hand.
`load(session, clinic_id, period, tz)` reads those rows from the database.

Definitions (what each number means, for the heads reading it):

* requests — visit requests *received* in the period (by the local date they were made);
* completed / cancelled by patient / cancelled by clinic / not home / referred at visit — visits
  *due* in the period (their visit day) that ended that way;
* danger-sign referrals — at intake (no visit was booked; told to call 112/119) plus visits that
  ended "referred";
* median wait — for visits completed in the period, hours from the request to the start of
  service (`started_at`, or `completed_at` when the nurse pressed only "done");
* on-time rate — of those, the share whose service started inside the booked window (the window
  bounds the start of service) on the visit day, clinic time;
* per nurse — visits completed, homes attended (completed, not home, or referred there), and
  kilometres travelled from the planned routes of the period's days;
* satisfaction — a SKM-style index (Survei Kepuasan Masyarakat, PermenPANRB 14/2017): the mean
  1–5 rating mapped linearly onto SKM's 25–100 scale, with SKM's grades
  A ≥ 88.31 (sangat baik), B ≥ 76.61 (baik), C ≥ 65.00 (kurang baik), D below (tidak baik);
* breakdowns — visits due in the period and completed ones, per kelurahan and per service type.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    Account,
    AccountRole,
    EmergencyReferral,
    Feedback,
    Nurse,
    Patient,
    Route,
    Visit,
)

COMPLETED = "completed"
NOT_HOME = "not_home"
REFERRED = "referred"
CANCELLED_BY_PATIENT = "cancelled_by_patient"
CANCELLED_BY_CLINIC = "cancelled_by_clinic"
ATTENDED = frozenset({COMPLETED, NOT_HOME, REFERRED})
UNKNOWN = "-"


# --- periods -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str  # "week" | "month"
    start: date
    end: date  # inclusive

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC for the period's local days."""
        lo = datetime.combine(self.start, time(0), tz).astimezone(UTC)
        hi = datetime.combine(self.end + timedelta(days=1), time(0), tz).astimezone(UTC)
        return lo, hi

    def previous(self) -> Period:
        if self.kind == "week":
            start = self.start - timedelta(days=7)
            return Period("week", start, start + timedelta(days=6))
        last = self.start - timedelta(days=1)
        return month_of(last)

    def next(self) -> Period:
        if self.kind == "week":
            start = self.start + timedelta(days=7)
            return Period("week", start, start + timedelta(days=6))
        return month_of(self.end + timedelta(days=1))

    def token(self) -> str:
        """Compact form for callback data: w20261123 / m202611."""
        if self.kind == "week":
            return "w" + self.start.strftime("%Y%m%d")
        return "m" + self.start.strftime("%Y%m")


def week_of(day: date) -> Period:
    start = day - timedelta(days=day.weekday())
    return Period("week", start, start + timedelta(days=6))


def month_of(day: date) -> Period:
    start = day.replace(day=1)
    nxt = (start + timedelta(days=32)).replace(day=1)
    return Period("month", start, nxt - timedelta(days=1))


def period_from_token(token: str) -> Period | None:
    """The period a callback token names, or None for anything malformed."""
    try:
        if token.startswith("w") and len(token) == 9:
            day = datetime.strptime(token[1:], "%Y%m%d").date()
            return week_of(day) if day.weekday() == 0 else None
        if token.startswith("m") and len(token) == 7:
            return month_of(datetime.strptime(token[1:], "%Y%m").date())
    except ValueError:
        return None
    return None


def last_complete_week(today: date) -> Period:
    return week_of(today - timedelta(days=7))


# --- input rows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitRow:
    id: int
    day: date
    created_at: datetime
    status: str
    service_type: str
    kelurahan: str | None
    nurse_id: int | None
    window_start: time
    window_end: time
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class RouteRow:
    nurse_id: int
    day: date
    distance_m: int


@dataclass(frozen=True)
class ReportInput:
    period: Period
    tz: ZoneInfo
    visits: Sequence[VisitRow]
    routes: Sequence[RouteRow] = ()
    ratings: Sequence[tuple[int, int]] = ()  # (visit_id, rating 1..5)
    intake_referrals: Sequence[datetime] = ()
    nurse_names: dict[int, str] = field(default_factory=dict)


# --- output ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NurseLine:
    nurse_id: int
    name: str
    completed: int
    attended: int
    km: float


@dataclass(frozen=True)
class Breakdown:
    key: str
    due: int
    completed: int


@dataclass(frozen=True)
class DaySeries:
    day: date
    completed: int
    not_home: int
    cancelled: int
    other: int


@dataclass(frozen=True)
class Report:
    period: Period
    requests: int
    due: int
    completed: int
    cancelled_by_patient: int
    cancelled_by_clinic: int
    not_home: int
    referred_at_visit: int
    referred_at_intake: int
    median_wait_h: float | None
    on_time: int
    on_time_of: int
    ratings: int
    rating_mean: float | None
    skm_index: float | None
    skm_grade: str | None
    nurses: tuple[NurseLine, ...]
    by_kelurahan: tuple[Breakdown, ...]
    by_service: tuple[Breakdown, ...]
    series: tuple[DaySeries, ...]

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.on_time_of if self.on_time_of else None

    @property
    def referrals(self) -> int:
        return self.referred_at_visit + self.referred_at_intake


def skm_index(mean_rating: float) -> float:
    """A 1–5 mean rating on SKM's 25–100 scale (1 → 25, 5 → 100)."""
    return 25.0 + (mean_rating - 1.0) * 75.0 / 4.0


def skm_grade(index: float) -> str:
    if index >= 88.31:
        return "A"
    if index >= 76.61:
        return "B"
    if index >= 65.0:
        return "C"
    return "D"


def _in_window(v: VisitRow, tz: ZoneInfo) -> bool | None:
    began = v.started_at or v.completed_at
    if began is None:
        return None
    local = began.astimezone(tz)
    return local.date() == v.day and v.window_start <= local.time() <= v.window_end


def _breakdown(due: Sequence[VisitRow], key: str) -> tuple[Breakdown, ...]:
    total: Counter[str] = Counter()
    done: Counter[str] = Counter()
    for v in due:
        k = (v.kelurahan if key == "kelurahan" else v.service_type) or UNKNOWN
        total[k] += 1
        if v.status == COMPLETED:
            done[k] += 1
    return tuple(
        Breakdown(k, n, done[k]) for k, n in sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def compute(data: ReportInput) -> Report:
    """The report for `data.period` (pure)."""
    p, tz = data.period, data.tz
    lo, hi = p.utc_bounds(tz)
    requests = sum(1 for v in data.visits if lo <= v.created_at < hi)
    due = [v for v in data.visits if p.start <= v.day <= p.end]
    status = Counter(v.status for v in due)
    completed = [v for v in due if v.status == COMPLETED]

    waits = [
        ((v.started_at or v.completed_at) - v.created_at).total_seconds() / 3600  # type: ignore[operator]
        for v in completed
        if (v.started_at or v.completed_at) is not None
    ]
    timing = [t for t in (_in_window(v, tz) for v in completed) if t is not None]

    due_ids = {v.id for v in due}
    ratings = [r for vid, r in data.ratings if vid in due_ids]
    mean = statistics.fmean(ratings) if ratings else None
    index = round(skm_index(mean), 2) if mean is not None else None

    km: Counter[int] = Counter()
    for r in data.routes:
        if p.start <= r.day <= p.end:
            km[r.nurse_id] += r.distance_m
    done_by: Counter[int] = Counter(v.nurse_id for v in completed if v.nurse_id is not None)
    attended_by: Counter[int] = Counter(
        v.nurse_id for v in due if v.status in ATTENDED and v.nurse_id is not None
    )
    nurse_ids = set(km) | set(attended_by)
    nurses = tuple(
        sorted(
            (
                NurseLine(
                    nid,
                    data.nurse_names.get(nid, f"#{nid}"),
                    done_by[nid],
                    attended_by[nid],
                    round(km[nid] / 1000, 1),
                )
                for nid in nurse_ids
            ),
            key=lambda n: (-n.completed, n.name),
        )
    )

    series = []
    for day in p.days:
        today = [v for v in due if v.day == day]
        c = sum(1 for v in today if v.status == COMPLETED)
        nh = sum(1 for v in today if v.status == NOT_HOME)
        cx = sum(1 for v in today if v.status in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC))
        series.append(DaySeries(day, c, nh, cx, len(today) - c - nh - cx))

    return Report(
        period=p,
        requests=requests,
        due=len(due),
        completed=len(completed),
        cancelled_by_patient=status[CANCELLED_BY_PATIENT],
        cancelled_by_clinic=status[CANCELLED_BY_CLINIC],
        not_home=status[NOT_HOME],
        referred_at_visit=status[REFERRED],
        referred_at_intake=sum(1 for at in data.intake_referrals if lo <= at < hi),
        median_wait_h=round(statistics.median(waits), 1) if waits else None,
        on_time=sum(timing),
        on_time_of=len(timing),
        ratings=len(ratings),
        rating_mean=round(mean, 2) if mean is not None else None,
        skm_index=index,
        skm_grade=skm_grade(index) if index is not None else None,
        nurses=nurses,
        by_kelurahan=_breakdown(due, "kelurahan"),
        by_service=_breakdown(due, "service"),
        series=tuple(series),
    )


# --- loading -------------------------------------------------------------------------------------


async def load(session: AsyncSession, clinic_id: int, period: Period, tz: ZoneInfo) -> ReportInput:
    """The rows `compute` needs: visits due or requested in the period, its routes, its ratings."""
    lo, hi = period.utc_bounds(tz)
    rows = await session.execute(
        select(Visit, Patient.kelurahan)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(
            Visit.clinic_id == clinic_id,
            ((Visit.day >= period.start) & (Visit.day <= period.end))
            | ((Visit.created_at >= lo) & (Visit.created_at < hi)),
        )
    )
    visits = [
        VisitRow(
            id=v.id,
            day=v.day,
            created_at=v.created_at,
            status=v.status,
            service_type=v.service_type,
            kelurahan=kel,
            nurse_id=v.nurse_id,
            window_start=v.window_start,
            window_end=v.window_end,
            started_at=v.started_at,
            completed_at=v.completed_at,
        )
        for v, kel in rows
    ]
    routes = [
        RouteRow(r.nurse_id, r.day, r.distance_m)
        for r in await session.scalars(
            select(Route).where(
                Route.clinic_id == clinic_id, Route.day >= period.start, Route.day <= period.end
            )
        )
    ]
    ratings = [
        (vid, rating)
        for vid, rating in (
            await session.execute(
                select(Feedback.visit_id, Feedback.rating)
                .join(Visit, Visit.id == Feedback.visit_id)
                .where(
                    Visit.clinic_id == clinic_id,
                    Visit.day >= period.start,
                    Visit.day <= period.end,
                )
            )
        )
    ]
    referrals = list(
        await session.scalars(
            select(EmergencyReferral.at).where(
                EmergencyReferral.clinic_id == clinic_id,
                EmergencyReferral.at >= lo,
                EmergencyReferral.at < hi,
            )
        )
    )
    names = {
        nid: name
        for nid, name in (
            await session.execute(select(Nurse.id, Nurse.name).where(Nurse.clinic_id == clinic_id))
        )
    }
    return ReportInput(period, tz, visits, routes, ratings, referrals, names)


async def build(session: AsyncSession, clinic_id: int, period: Period, tz: ZoneInfo) -> Report:
    return compute(await load(session, clinic_id, period, tz))


async def report_readers(session: AsyncSession, clinic_id: int) -> list[Account]:
    """Who gets the weekly report: the clinic's heads and admins, once each."""
    return list(
        await session.scalars(
            select(Account)
            .join(AccountRole, AccountRole.account_id == Account.id)
            .where(
                AccountRole.clinic_id == clinic_id,
                AccountRole.role.in_(("head", "admin")),
                Account.deleted_at.is_(None),
            )
            .order_by(Account.id)
            .distinct()
        )
    )
