"""Planning, stage 1: read one clinic day's inputs (nurses, shifts minus leave, visits, positions,
current routes) into `DayFacts`, and the fingerprint the write stage checks again.

Also the statuses, weights and clock helpers every stage shares.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Nurse, NurseLeave, Patient, Route, StaffTask, Visit, VisitStatusChange
from homecare.config import Config
from scheduler.planner import model as pm
from scheduler.visits import VisitStatus

S = VisitStatus
PLANNABLE: frozenset[str] = frozenset(
    s.value for s in (S.REQUESTED, S.SCHEDULED, S.CONFIRMED, S.UNPLACED)
)
STARTED: frozenset[str] = frozenset(
    s.value for s in (S.ON_THE_WAY, S.ARRIVED, S.COMPLETED, S.NOT_HOME, S.REFERRED)
)
ASSIGNED: frozenset[str] = frozenset(s.value for s in (S.SCHEDULED, S.CONFIRMED))
# Statuses the planner may send to "unplaced" (the rulebook allows it for the system).
UNPLACEABLE: frozenset[str] = frozenset(s.value for s in (S.REQUESTED, S.SCHEDULED, S.CONFIRMED))

REPLAN_STABILITY = 3.0
CORE_WEIGHTS = pm.Weights()
# The arrival window told to families: around the planned start, in quarter hours.
ARRIVAL_BEFORE = timedelta(minutes=15)
ARRIVAL_AFTER = timedelta(minutes=30)
QUARTER = 15


# --- time ------------------------------------------------------------------------------------


def local_today(config: Config, now: datetime) -> date:
    return now.astimezone(config.clinic.tz).date()


def seconds_of(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def instant(day: date, seconds: int, tz: ZoneInfo) -> datetime:
    """Seconds since local midnight of `day` as an aware UTC datetime."""
    return (datetime.combine(day, time(0), tzinfo=tz) + timedelta(seconds=seconds)).astimezone(UTC)


def clock_on(day: date, moment: datetime, tz: ZoneInfo) -> int:
    """`moment` as seconds since local midnight of `day` (negative before, > 86400 after)."""
    return int((moment - datetime.combine(day, time(0), tzinfo=tz)).total_seconds())


def _floor_quarter(t: datetime) -> datetime:
    return t.replace(minute=t.minute - t.minute % QUARTER, second=0, microsecond=0)


def _ceil_quarter(t: datetime) -> datetime:
    floor = _floor_quarter(t)
    return floor if floor == t else floor + timedelta(minutes=QUARTER)


def arrival_window(start: datetime, window: tuple[time, time], tz: ZoneInfo) -> tuple[time, time]:
    """What a family is told: from a quarter hour before the planned start to half an hour after,
    in quarter hours, never before the booked window opens."""
    local = start.astimezone(tz)
    opens = datetime.combine(local.date(), window[0], tzinfo=tz)
    low = max(_floor_quarter(local - ARRIVAL_BEFORE), opens)
    high = max(_ceil_quarter(local + ARRIVAL_AFTER), low + timedelta(minutes=2 * QUARTER))
    return low.time(), high.time()


def planner_weights(config: Config, *, replanning: bool = False) -> pm.Weights:
    """`[planner] weights` multiply the core's defaults (documented in `db.services.planning`)."""
    w = config.planner.weights
    continuity = CORE_WEIGHTS.continuity * w.continuity
    if replanning:
        continuity *= REPLAN_STABILITY
    return pm.Weights(
        travel=CORE_WEIGHTS.travel * w.travel,
        balance=CORE_WEIGHTS.balance * w.balance,
        continuity=continuity,
    )


# --- what was read ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitFacts:
    id: int
    code: str
    status: str
    nurse_id: int | None
    patient_id: int
    service_type: str
    priority: str
    window: tuple[time, time]
    duration_min: int
    planned_arrival: datetime | None
    planned_start: datetime | None
    planned_end: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    updated_at: datetime | None
    lat: float
    lon: float
    approximate: bool
    last_nurse_id: int | None
    unplaced_reason: str | None = None


@dataclass(frozen=True)
class NurseFacts:
    id: int
    name: str
    account_id: int | None
    skills: frozenset[str]
    cap: int
    shift: tuple[int, int] | None  # None: not available at all this day


@dataclass(frozen=True)
class DayFacts:
    clinic_id: int
    day: date
    today: date
    now_s: int | None  # set when the day is under way (today)
    visits: tuple[VisitFacts, ...]
    nurses: tuple[NurseFacts, ...]
    # Current order of each nurse's stops (visit ids), from the stored routes.
    route_order: dict[int, tuple[int, ...]]
    # When each visit entered each status (latest history row), for pinned stops' times.
    status_at: dict[tuple[int, str], datetime]
    excluded: frozenset[tuple[int, int]]  # (visit id, nurse id): she said she cannot come
    fingerprint: tuple[Any, ...]
    planned_before: bool  # the day already has routes (families were told)

    def visit(self, visit_id: int) -> VisitFacts:
        return next(v for v in self.visits if v.id == visit_id)


async def read_fingerprint(
    session: AsyncSession, clinic_id: int, day: date, *, lock: bool = False
) -> tuple[Any, ...]:
    """Everything a plan for `day` depends on, in a comparable form.

    With `lock` (the write phase) the day's visit rows stay locked until the commit on
    PostgreSQL, so nothing changes between this check and the write; SQLite's write
    transaction (BEGIN IMMEDIATE) already keeps other writers out.
    """
    query = (
        select(
            Visit.id,
            Visit.status,
            Visit.nurse_id,
            Visit.window_start,
            Visit.window_end,
            Visit.priority,
            Visit.service_type,
            Visit.updated_at,
            Visit.patient_id,
        )
        .where(Visit.clinic_id == clinic_id, Visit.day == day)
        .where(Visit.status.in_(sorted(PLANNABLE | STARTED)))
        .order_by(Visit.id)
    )
    visits = await session.execute(query.with_for_update() if lock else query)
    nurses = await session.execute(
        select(
            Nurse.id,
            Nurse.active,
            Nurse.shift_start,
            Nurse.shift_end,
            Nurse.daily_cap,
            Nurse.skills,
        )
        .where(Nurse.clinic_id == clinic_id)
        .order_by(Nurse.id)
    )
    leave = await session.execute(
        select(
            NurseLeave.nurse_id,
            NurseLeave.kind,
            NurseLeave.available_from,
            NurseLeave.available_until,
        )
        .join(Nurse, Nurse.id == NurseLeave.nurse_id)
        .where(Nurse.clinic_id == clinic_id, NurseLeave.day == day)
        .order_by(NurseLeave.nurse_id)
    )
    excluded = await session.execute(
        select(StaffTask.visit_id, StaffTask.account_id)
        .join(Visit, Visit.id == StaffTask.visit_id)
        .where(
            StaffTask.kind == "nurse_cannot_come",
            Visit.clinic_id == clinic_id,
            Visit.day == day,
        )
        .order_by(StaffTask.id)
    )

    def freeze(rows: Iterable[tuple[Any, ...]]) -> tuple[Any, ...]:
        return tuple(tuple(tuple(v) if isinstance(v, list) else v for v in row) for row in rows)

    return (freeze(visits), freeze(nurses), freeze(leave), freeze(excluded))


def _shift(nurse: Nurse, leave: NurseLeave | None) -> tuple[int, int] | None:
    start, end = nurse.shift_start, nurse.shift_end
    if leave is not None:
        if leave.available_from is None or leave.available_until is None:
            return None
        start, end = max(start, leave.available_from), min(end, leave.available_until)
    if start >= end:
        return None
    return seconds_of(start), seconds_of(end)


async def patient_positions(
    session: AsyncSession, config: Config, clinic_id: int, patients: Sequence[Patient]
) -> dict[int, tuple[float, float, bool]]:
    """(lat, lon, approximate) per patient: the shared location, else the mean position of the
    clinic's located patients in the same kelurahan, else the clinic itself."""
    kelurahan = {p.kelurahan for p in patients if (p.lat is None or p.lon is None) and p.kelurahan}
    centroid: dict[str, tuple[float, float]] = {}
    if kelurahan:
        sums: dict[str, list[float]] = {}
        for name, lat, lon in await session.execute(
            select(Patient.kelurahan, Patient.lat, Patient.lon).where(
                Patient.clinic_id == clinic_id,
                Patient.kelurahan.in_(sorted(kelurahan)),
                Patient.lat.is_not(None),
                Patient.lon.is_not(None),
            )
        ):
            if lat is None or lon is None:
                continue
            acc = sums.setdefault(name or "", [0.0, 0.0, 0.0])
            acc[0] += lat
            acc[1] += lon
            acc[2] += 1
        centroid = {k: (v[0] / v[2], v[1] / v[2]) for k, v in sums.items() if v[2]}
    depot = config.clinic.location
    out: dict[int, tuple[float, float, bool]] = {}
    for p in patients:
        if p.lat is not None and p.lon is not None:
            out[p.id] = (p.lat, p.lon, False)
        elif p.kelurahan and p.kelurahan in centroid:
            out[p.id] = (*centroid[p.kelurahan], True)
        else:
            out[p.id] = (depot.lat, depot.lon, True)
    return out


async def read_day(
    session: AsyncSession, config: Config, clinic_id: int, day: date, now: datetime
) -> DayFacts:
    """Read everything a plan for `day` is built from (one read transaction)."""
    tz = config.clinic.tz
    today = local_today(config, now)
    now_s = clock_on(day, now, tz) if day == today else None
    fingerprint = await read_fingerprint(session, clinic_id, day)

    rows = await session.execute(
        select(Visit, Patient)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(Visit.clinic_id == clinic_id, Visit.day == day)
        .where(Visit.status.in_(sorted(PLANNABLE | STARTED)))
        .order_by(Visit.id)
    )
    pairs = list(rows)
    positions = await patient_positions(session, config, clinic_id, [p for _, p in pairs])
    visits: list[VisitFacts] = []
    for v, p in pairs:
        lat, lon, approximate = positions[p.id]
        service = config.service(v.service_type)
        visits.append(
            VisitFacts(
                id=v.id,
                code=v.code,
                status=v.status,
                nurse_id=v.nurse_id,
                patient_id=v.patient_id,
                service_type=v.service_type,
                priority=v.priority if v.priority in ("urgent", "routine") else "routine",
                window=(v.window_start, v.window_end),
                duration_min=service.duration_min if service else v.duration_min,
                planned_arrival=v.planned_arrival,
                planned_start=v.planned_start,
                planned_end=v.planned_end,
                started_at=v.started_at,
                completed_at=v.completed_at,
                updated_at=v.updated_at,
                lat=lat,
                lon=lon,
                approximate=approximate,
                last_nurse_id=p.last_nurse_id,
                unplaced_reason=v.unplaced_reason,
            )
        )

    nurse_rows = list(
        await session.scalars(select(Nurse).where(Nurse.clinic_id == clinic_id).order_by(Nurse.id))
    )
    leaves = {
        lv.nurse_id: lv
        for lv in await session.scalars(
            select(NurseLeave).where(
                NurseLeave.day == day, NurseLeave.nurse_id.in_([n.id for n in nurse_rows])
            )
        )
    }
    busy = {v.nurse_id for v in visits if v.status in STARTED and v.nurse_id is not None}
    nurses: list[NurseFacts] = []
    for n in nurse_rows:
        shift = _shift(n, leaves.get(n.id)) if n.active else None
        if shift is None and n.id not in busy:
            continue
        nurses.append(
            NurseFacts(
                id=n.id,
                name=n.name,
                account_id=n.account_id,
                skills=frozenset(str(s) for s in (n.skills or ())),
                cap=n.daily_cap,
                shift=shift,
            )
        )

    route_order: dict[int, tuple[int, ...]] = {}
    for route in await session.scalars(
        select(Route).where(Route.clinic_id == clinic_id, Route.day == day)
    ):
        route_order[route.nurse_id] = tuple(s.visit_id for s in route.stops)

    started_ids = [v.id for v in visits if v.status in STARTED]
    status_at: dict[tuple[int, str], datetime] = {}
    if started_ids:
        for visit_id, status, at in await session.execute(
            select(VisitStatusChange.visit_id, VisitStatusChange.to_status, VisitStatusChange.at)
            .where(VisitStatusChange.visit_id.in_(started_ids))
            .order_by(VisitStatusChange.id)
        ):
            status_at[(visit_id, status)] = at

    account_nurse = {n.account_id: n.id for n in nurse_rows if n.account_id is not None}
    excluded = frozenset(
        (visit_id, account_nurse[account_id])
        for visit_id, account_id in fingerprint[3]
        if account_id in account_nurse
    )
    return DayFacts(
        clinic_id=clinic_id,
        day=day,
        today=today,
        now_s=now_s,
        visits=tuple(visits),
        nurses=tuple(nurses),
        route_order=route_order,
        status_at=status_at,
        excluded=excluded,
        fingerprint=fingerprint,
        planned_before=bool(route_order),
    )
