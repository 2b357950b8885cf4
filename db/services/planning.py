"""Planning a clinic day from the database: read, solve in a worker thread, write.

The pure core (`scheduler.planner`) turns a `PlanRequest` into a `Plan`; this module builds the
request from the rows of one clinic-local day, runs the core without blocking the event loop and
without holding a transaction open, and writes the result back: a `PlanRun`, one `Route` with its
`RouteStop`s per nurse, each visit's nurse and planned times, status changes through
`db.services.visit_status.change_status` (actor: system), staff tasks for the heads, and the
messages (outbox) to families, heads and nurses.

Three transactions per run, never one long one:
1. read: nurses, shifts minus leave, visits of the day, patients' positions, current routes;
2. solve (no transaction): travel matrix (OSRM when configured, else the estimate), then PyVRP in
   `asyncio.to_thread`;
3. write: re-read a fingerprint of everything the request was built from (visit statuses,
   windows, assignments, `updated_at`; nurses; leave). If anything changed meanwhile (a nurse
   pressed "Berangkat", a family cancelled), nothing is written and the day is read and solved
   again (up to `MAX_ATTEMPTS` times, the last with a short time limit).

Planning runs are queued rows (`PlanRun.status = "queued"`), written in the same transaction as
their cause — a cancelled visit (`on_visit_cancelled`), a nurse who reports sick
(`nurse_reports_sick`) or cannot make a visit (`nurse_cannot_come`), a head's `/rencana`
(`enqueue`), the nightly job — so a crash loses none. `PlanningWorker` (started by
`scheduler.jobs.JobRunner`) runs them one at a time; queued runs for the same day are merged.

How the request is built (documented for heads and developers):
* Nurses: active nurses of the clinic. Shift = `Nurse.shift_start`–`shift_end`, cut by a
  `NurseLeave` row for the day: both `available_from`/`available_until` set = a shortened shift,
  otherwise the whole day off. Declared leave counts before a head approves it, as in booking.
  Daily cap = `Nurse.daily_cap`, skills = `Nurse.skills`. No break is modelled (shifts are short).
* Visits: the day's visits in status requested/scheduled/confirmed/unplaced, plus — when the day
  is under way — those already started (on the way, arrived, done, not at home), which stay where
  they are ("pinned"). Duration and required skills from `config.services` (the visit's own
  `duration_min` when its service type is no longer configured); window = the booked window (it
  bounds the start of service); priority from the visit.
* Position: the patient's shared location (`Patient.lat/lon`). Without one, the mean position of
  the other located patients of the same kelurahan in this clinic (a centroid measured from our
  own data, not a guess), else the clinic itself; such stops are flagged "approximate" to the
  nurse.
* Preferred nurse: the nurse already assigned (once families were told a name, a re-plan keeps
  it unless the gain is worth it), else `Patient.last_nurse_id` (continuity of care).
* A nurse who said she cannot make a visit ("Tidak bisa datang", a `StaffTask` of kind
  `nurse_cannot_come`) is kept off that visit for the day: the visit requires a private skill
  token that every other nurse holds.
* Weights: `[planner] weights` multiply the core's defaults (travel 1 per second, balance 1 per
  second beyond the fair share, continuity 600 s per visit); on a day already planned the
  continuity weight is tripled, so a re-plan moves told families only for a real gain.
* Travel: `[planner] speed_kmh` and `road_factor`, or the OSRM table at `[planner] osrm_url`.
* `now`: for today, the re-plan starts at the current local time; nothing unstarted is planned
  before it. A same-day visit not yet in any route is inserted at least cost
  (`scheduler.planner.replan.insert_visit`) when the run's kind is "insert".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import Translator
from bot.messages import to_payload
from bot.render import nurse as render
from db.models import (
    Account,
    Clinic,
    Nurse,
    NurseLeave,
    OutboxMessage,
    Patient,
    PatientLink,
    PlanRun,
    Route,
    RouteStop,
    StaffTask,
    Visit,
    VisitStatusChange,
)
from db.services import outbox
from db.services.patients import head_accounts
from db.services.reminders import sync_visit_reminders
from db.services.visit_status import change_status
from db.session import Database
from homecare.config import Config
from scheduler.planner import model as pm
from scheduler.planner.io import plan_to_json, request_to_json
from scheduler.planner.replan import insert_visit, pin_request, replan
from scheduler.planner.solver import plan_totals, solve
from scheduler.planner.travel import resolve_travel
from scheduler.visits import Actor, VisitStatus

log = logging.getLogger(__name__)

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

KINDS = ("nightly", "manual", "replan", "insert")
MAX_ATTEMPTS = 4
LAST_ATTEMPT_TIME_LIMIT_S = 0.5
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
    """`[planner] weights` multiply the core's defaults (documented in the module docstring)."""
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


def _first_name(name: str | None) -> str:
    return (name or "").split()[0] if (name or "").strip() else ""


async def _fingerprint(
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
    fingerprint = await _fingerprint(session, clinic_id, day)

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


# --- building the request (pure) -------------------------------------------------------------


def exclusion_skill(visit_id: int) -> str:
    """The private skill token of a visit some nurse may not take (see the module docstring)."""
    return f"_visit{visit_id}"


def build_request(config: Config, facts: DayFacts, visits: Sequence[VisitFacts]) -> pm.PlanRequest:
    """The core's request for `visits` of the day (pure: facts in, request out)."""
    nurse_ids = {n.id for n in facts.nurses}
    guarded = {visit_id for visit_id, _ in facts.excluded}
    nurses = []
    for n in facts.nurses:
        skills = set(n.skills)
        skills |= {exclusion_skill(v) for v in guarded if (v, n.id) not in facts.excluded}
        shift = n.shift
        if shift is None:  # only pinned work left: a minute of availability, too short for more
            start = seconds_of(config.clinic.working_hours[0])
            shift = (start, start + 60)
        nurses.append(
            pm.Nurse(id=n.id, shift=shift, skills=frozenset(skills), max_visits=max(n.cap, 0))
        )
    out = []
    for v in visits:
        service = config.service(v.service_type)
        skills = set(service.skills) if service else set()
        if v.id in guarded:
            skills.add(exclusion_skill(v.id))
        preferred: int | None = None
        if (
            v.nurse_id is not None
            and v.nurse_id in nurse_ids
            and (v.status in ASSIGNED or v.status in STARTED)
            and (v.id, v.nurse_id) not in facts.excluded
        ):
            preferred = v.nurse_id
        elif v.last_nurse_id in nurse_ids:
            preferred = v.last_nurse_id
        out.append(
            pm.Visit(
                id=v.id,
                lat=v.lat,
                lon=v.lon,
                duration_s=max(v.duration_min, 1) * 60,
                window=(seconds_of(v.window[0]), seconds_of(v.window[1])),
                skills=frozenset(skills),
                priority="urgent" if v.priority == "urgent" else "routine",
                preferred_nurse=preferred,
            )
        )
    p = config.planner
    return pm.PlanRequest(
        date=facts.day,
        depot=pm.GeoPoint(config.clinic.location.lat, config.clinic.location.lon),
        nurses=tuple(nurses),
        visits=tuple(out),
        travel=pm.SpeedTravel(
            speed_kmh=p.speed_kmh, road_factor=p.road_factor, osrm_url=p.osrm_url or None
        ),
        weights=planner_weights(config, replanning=facts.planned_before),
        now=facts.now_s,
    )


def _ordered_assignments(facts: DayFacts, request: pm.PlanRequest) -> dict[int, list[VisitFacts]]:
    """Each nurse's visits in the request: started ones in the order they happened, then the
    rest in the stored route order."""
    in_request = {str(v.id) for v in request.visits}
    by_nurse: dict[int, list[VisitFacts]] = {}
    for v in facts.visits:
        if str(v.id) not in in_request or v.nurse_id is None:
            continue
        if v.status in STARTED or v.status in ASSIGNED:
            by_nurse.setdefault(v.nurse_id, []).append(v)
    far = datetime.max.replace(tzinfo=UTC)

    def started_key(v: VisitFacts) -> datetime:
        times = [facts.status_at.get((v.id, s)) for s in (S.ON_THE_WAY, S.ARRIVED)]
        known = [t for t in (*times, v.started_at, v.completed_at) if t is not None]
        return min(known) if known else (v.planned_start or far)

    for nurse_id, visits in by_nurse.items():
        order = {vid: i for i, vid in enumerate(facts.route_order.get(nurse_id, ()))}
        started = sorted(
            (v for v in visits if v.status in STARTED),
            key=lambda v: (started_key(v), order.get(v.id, len(order)), v.id),
        )
        rest = sorted(
            (v for v in visits if v.status not in STARTED),
            key=lambda v: (order.get(v.id, len(order)), v.planned_start or far, v.id),
        )
        by_nurse[nurse_id] = [*started, *rest]
    return by_nurse


def current_plan(
    config: Config, facts: DayFacts, request: pm.PlanRequest, matrix: pm.TravelMatrix
) -> pm.Plan:
    """The day as it stands, as a core `Plan`, timed so that the core pins the stops the nurse
    is committed to: those started by their status (she pressed "Berangkat" or "Tiba", perhaps
    earlier than planned), and — because nurses forget to press — those whose planned
    departure has come (the core's own rule). Everything after the first free stop is free.

    Started stops get their real times where known (departure, arrival, end); committed ones
    keep their planned times (after the previous stop); free ones are given times after `now`,
    so `scheduler.planner.replan.pinned_stops` leaves them to the solver.
    """
    tz = config.clinic.tz
    now = facts.now_s if facts.now_s is not None else 0
    place = {str(v.id): i + 1 for i, v in enumerate(request.visits)}
    dur = matrix.durations_s
    dist = matrix.distances_m
    wanted = {str(n.id) for n in request.nurses}
    routes: list[pm.Route] = []
    routed: set[str] = set()
    for nurse_id, visits in _ordered_assignments(facts, request).items():
        if str(nurse_id) not in wanted:
            continue
        stops: list[pm.Stop] = []
        here = 0
        free = False  # once one unstarted stop is free, all after it are
        for v in visits:
            there = place[str(v.id)]
            duration = max(v.duration_min, 1) * 60
            opens = seconds_of(v.window[0])

            def sec(moment: datetime | None, default: int) -> int:
                return default if moment is None else min(clock_on(facts.day, moment, tz), now)

            if v.status in STARTED:
                gone = facts.status_at.get((v.id, S.ON_THE_WAY.value))
                if v.status == S.ON_THE_WAY.value:
                    depart = sec(gone, now)
                    if stops and stops[-1].end > depart:  # she left the previous home early
                        last = stops[-1]
                        stops[-1] = dataclasses.replace(last, end=max(last.start, depart))
                    arrive = max(depart, stops[-1].end if stops else depart) + dur[here][there]
                    start = max(arrive, opens)
                    end = start + duration
                else:
                    reached = v.started_at or facts.status_at.get((v.id, S.ARRIVED.value))
                    finished = v.completed_at or facts.status_at.get((v.id, v.status))
                    floor = stops[-1].end if stops else 0
                    arrive = max(sec(reached, sec(finished, now)), floor)
                    start = arrive
                    if v.status == S.ARRIVED.value:
                        end = start + duration
                    else:
                        end = max(start, sec(finished, start))
                stops.append(pm.Stop(v.id, arrive, start, end))
            else:
                planned = (
                    clock_on(facts.day, v.planned_arrival, tz)
                    if v.planned_arrival is not None
                    else None
                )
                floor = stops[-1].end if stops else 0
                committed = not free and planned is not None and planned - dur[here][there] <= now
                if committed:
                    assert planned is not None
                    planned_start = (
                        clock_on(facts.day, v.planned_start, tz) if v.planned_start else planned
                    )
                    arrive = max(planned, floor)
                    start = max(arrive, planned_start, opens)
                else:
                    free = True
                    arrive = max(planned or 0, floor, now + dur[here][there] + 1)
                    start = max(arrive, opens)
                stops.append(pm.Stop(v.id, arrive, start, start + duration))
            routed.add(str(v.id))
            here = there
        if not stops:
            continue
        path = [0, *(place[str(s.visit)] for s in stops), 0]
        routes.append(
            pm.Route(
                nurse=nurse_id,
                leave=stops[0].arrive - dur[0][path[1]],
                back=stops[-1].end + dur[path[-2]][0],
                stops=tuple(stops),
                travel_s=sum(dur[a][b] for a, b in itertools.pairwise(path)),
                distance_m=sum(dist[a][b] for a, b in itertools.pairwise(path)),
            )
        )
    for n in request.nurses:
        if not any(str(r.nurse) == str(n.id) for r in routes):
            routes.append(pm.Route(n.id, None, None, (), 0, 0))
    reasons = {v.id: v for v in facts.visits}
    unassigned = tuple(
        pm.Unassigned(v.id, _known_reason(reasons[int(v.id)]))
        for v in request.visits
        if str(v.id) not in routed
    )
    return pm.Plan(
        date=facts.day,
        routes=tuple(routes),
        unassigned=unassigned,
        totals=plan_totals(request, routes, unassigned),
    )


def _known_reason(v: VisitFacts) -> str:
    return v.unplaced_reason if v.unplaced_reason in pm.REASONS else pm.CAPACITY


# --- solving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SolveOptions:
    """Overrides for the search (tests and benchmarks); None = `[planner] time_limit_s`."""

    time_limit_s: float | None = None
    max_iterations: int | None = None
    seed: int = 0


@dataclass(frozen=True)
class Solved:
    mode: str  # "solve" | "replan" | "insert"
    request: pm.PlanRequest  # what the plan answers (pinned stops included)
    plan: pm.Plan
    matrix: pm.TravelMatrix


def _mode(kind: str, facts: DayFacts) -> str:
    if facts.day > facts.today:
        return "solve"
    return "insert" if kind == "insert" else "replan"


def _slice(matrix: pm.TravelMatrix, size: int) -> pm.TravelMatrix:
    return pm.TravelMatrix(
        durations_s=tuple(row[:size] for row in matrix.durations_s[:size]),
        distances_m=tuple(row[:size] for row in matrix.distances_m[:size]),
    )


async def solve_day(
    config: Config, facts: DayFacts, kind: str, options: SolveOptions, time_limit_s: float
) -> Solved:
    """Build the request and run the core off the event loop (no transaction is open)."""
    mode = _mode(kind, facts)
    routed = [
        v
        for v in facts.visits
        if v.nurse_id is not None and (v.status in STARTED or v.status in ASSIGNED)
    ]
    fresh = sorted(
        (v for v in facts.visits if v.status == S.REQUESTED.value and v.nurse_id is None),
        key=lambda v: (v.priority != "urgent", v.window[0], v.id),
    )
    if mode == "insert" and not fresh:
        mode = "replan"
    limits: dict[str, Any] = {
        "time_limit_s": time_limit_s,
        "max_iterations": options.max_iterations,
        "seed": options.seed,
    }
    if mode == "solve":
        request = build_request(config, facts, [v for v in facts.visits if v.status in PLANNABLE])
        matrix = await resolve_travel(request)
        plan = await asyncio.to_thread(solve, request, matrix, **limits)
        return Solved(mode, request, plan, matrix)
    now = facts.now_s
    assert now is not None
    if mode == "replan":
        visits = [v for v in facts.visits if v.status in PLANNABLE or v.nurse_id is not None]
        request = build_request(config, facts, visits)
        matrix = await resolve_travel(request)
        current = current_plan(config, facts, request, matrix)
        pinned = pin_request(request, current, now, matrix)
        plan = await asyncio.to_thread(replan, request, current, now, matrix, **limits)
        return Solved(mode, pinned, plan, matrix)

    # Insertion: the routed visits keep nurse and order; each new one goes where it costs least
    # (the core re-solves only when it fits nowhere).
    full = build_request(config, facts, [*routed, *fresh])
    matrix = await resolve_travel(full)
    base = dataclasses.replace(full, visits=full.visits[: len(routed)])
    current = current_plan(config, facts, base, _slice(matrix, len(routed) + 1))
    pinned = pin_request(full, current, now, matrix)

    def insert_all() -> pm.Plan:
        request, plan = base, current
        for k in range(len(routed) + 1, len(full.visits) + 1):
            visit = full.visits[k - 1]
            plan = insert_visit(request, plan, visit, now, _slice(matrix, k + 1), **limits)
            request = dataclasses.replace(full, visits=full.visits[:k])
        return plan

    plan = await asyncio.to_thread(insert_all)
    return Solved("insert", pinned, plan, matrix)


# --- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FamilyNote:
    """One family message the run queued (tests and the head's report read these)."""

    visit_id: int
    kind: str  # "planned" | "moved" | "unplaced" | "placed_after_all"


@dataclass(frozen=True)
class PlanOutcome:
    run_id: int
    day: date
    kind: str
    status: str  # "done" | "failed"
    mode: str = ""
    assigned: int = 0
    visits: int = 0
    unplaced: tuple[tuple[int, str], ...] = ()
    nurses_used: int = 0
    travel_s: int = 0
    distance_m: int = 0
    attempts: int = 0
    error: str | None = None
    notes: tuple[FamilyNote, ...] = ()
    changed_nurses: tuple[int, ...] = ()
    solved: Solved | None = None
    runtime_s: float = 0.0


class _Changed(Exception):
    """The day changed while the solver ran: nothing written, read and solve again."""


@dataclass
class _Writer:
    session: AsyncSession
    config: Config
    facts: DayFacts
    solved: Solved
    run: PlanRun
    now: datetime
    notes: list[FamilyNote] = field(default_factory=list)
    changed_nurses: set[int] = field(default_factory=set)
    newly_unplaced: list[tuple[Visit, str]] = field(default_factory=list)
    patients: dict[int, Patient] = field(default_factory=dict)
    families: dict[int, list[Account]] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return self.config.clinic.tz

    async def apply(self) -> None:
        session, facts, plan = self.session, self.facts, self.solved.plan
        ids = [int(v.id) for v in self.solved.request.visits]
        visits = {v.id: v for v in await session.scalars(select(Visit).where(Visit.id.in_(ids)))}
        nurses = {
            n.id: n
            for n in await session.scalars(select(Nurse).where(Nurse.clinic_id == facts.clinic_id))
        }
        before = {v.id: (v.nurse_id, v.planned_start) for v in visits.values()}
        await self._load_families({v.patient_id for v in visits.values()})
        old_order = {
            nid: tuple(vid for vid in order if vid in visits)
            for nid, order in facts.route_order.items()
        }
        await self._routes(visits)
        for route in plan.routes:
            nurse_id = int(route.nurse)
            for stop in route.stops:
                if stop.kind != "visit" or stop.visit is None or stop.fixed:
                    continue  # a pinned stop keeps everything it had
                visit = visits[int(stop.visit)]
                await self._assign(visit, nurses[nurse_id], stop, before[visit.id])
        for item in plan.unassigned:
            await self._unplace(visits[int(item.visit)], item.reason)
        new_order: dict[int, tuple[int, ...]] = {
            int(r.nurse): tuple(int(s.visit) for s in r.stops if s.visit is not None)
            for r in plan.routes
        }
        for nurse_id in set(old_order) | set(new_order):
            if old_order.get(nurse_id, ()) != new_order.get(nurse_id, ()):
                self.changed_nurses.add(nurse_id)
        await self._tell_heads()

    async def _routes(self, visits: dict[int, Visit]) -> None:
        """Replace the day's routes with the plan's (pinned stops are in the plan too; a stop of
        a visit the plan does not cover — cancelled meanwhile — goes)."""
        session, facts, plan = self.session, self.facts, self.solved.plan
        existing: dict[int, Route] = {
            r.nurse_id: r
            for r in await session.scalars(
                select(Route).where(Route.clinic_id == facts.clinic_id, Route.day == facts.day)
            )
        }
        for old in existing.values():
            old.stops = []
        await session.flush()
        for planned in plan.routes:
            nurse_id = int(planned.nurse)
            stops = [s for s in planned.stops if s.kind == "visit" and s.visit is not None]
            route = existing.pop(nurse_id, None)
            if not stops:
                if route is not None:
                    await session.delete(route)
                continue
            if route is None:
                route = Route(clinic_id=facts.clinic_id, nurse_id=nurse_id, day=facts.day)
                session.add(route)
            route.plan_run_id = self.run.id
            route.travel_s = planned.travel_s
            route.distance_m = planned.distance_m
            route.updated_at = self.now
            route.stops = [
                RouteStop(
                    visit_id=int(s.visit),  # type: ignore[arg-type]
                    seq=i + 1,
                    arrive=instant(facts.day, s.arrive, self.tz),
                    start=instant(facts.day, s.start, self.tz),
                    end=instant(facts.day, s.end, self.tz),
                )
                for i, s in enumerate(stops)
            ]
        for gone in existing.values():  # nurses the plan no longer has (whole day away)
            await session.delete(gone)
        await session.flush()

    async def _assign(
        self,
        visit: Visit,
        nurse: Nurse,
        stop: pm.Stop,
        before: tuple[int | None, datetime | None],
    ) -> None:
        day = self.facts.day
        arrive = instant(day, stop.arrive, self.tz)
        start = instant(day, stop.start, self.tz)
        end = instant(day, stop.end, self.tz)
        was_unplaced = visit.status == S.UNPLACED.value
        if visit.status in (S.REQUESTED.value, S.UNPLACED.value):
            await change_status(
                self.session,
                visit,
                S.SCHEDULED,
                Actor.SYSTEM,
                None,
                f"plan run {self.run.id}",
                self.now,
            )
        old_nurse, old_start = before
        visit.nurse_id = nurse.id
        visit.planned_arrival, visit.planned_start, visit.planned_end = arrive, start, end
        visit.unplaced_reason = None
        visit.updated_at = self.now
        if (old_nurse, old_start) != (nurse.id, start):
            # The "before arrival" reminder follows the planned time.
            await _sync_reminders(self.session, visit, self.config, self.now)
        window = (visit.window_start, visit.window_end)
        if old_nurse == nurse.id and old_start is not None:
            low, high = arrival_window(old_start, window, self.tz)
            local = start.astimezone(self.tz).time()
            if low <= local <= high:
                return  # what the family was told still holds
        kind = "placed_after_all" if was_unplaced else ("moved" if old_start else "planned")
        self.notes.append(FamilyNote(visit.id, kind))
        await self._tell_family(visit, nurse, kind)

    async def _unplace(self, visit: Visit, reason: str) -> None:
        if visit.status == S.UNPLACED.value:
            visit.unplaced_reason = reason
            return
        if visit.status not in UNPLACEABLE:
            log.warning("plan run %s left visit %s (%s) out", self.run.id, visit.id, visit.status)
            return
        await change_status(self.session, visit, S.UNPLACED, Actor.SYSTEM, None, reason, self.now)
        visit.unplaced_reason = reason
        visit.nurse_id = None
        visit.planned_arrival = visit.planned_start = visit.planned_end = None
        visit.updated_at = self.now
        self.newly_unplaced.append((visit, reason))
        self.notes.append(FamilyNote(visit.id, "unplaced"))
        await _sync_reminders(self.session, visit, self.config, self.now)
        reached = await self._tell_family(visit, None, "unplaced", reason=reason)
        self.session.add(
            StaffTask(
                clinic_id=visit.clinic_id,
                kind="visit_unplaced",
                patient_id=visit.patient_id,
                visit_id=visit.id,
                detail=(
                    f"{visit.code} {self.facts.day.isoformat()}: {reason}"
                    + ("" if reached else " (no family account: phone)")
                )[:300],
                created_at=self.now,
            )
        )

    async def _tell_family(
        self, visit: Visit, nurse: Nurse | None, kind: str, reason: str = ""
    ) -> bool:
        """Queue the message to every account linked to the patient; False when none."""
        accounts = self.families.get(visit.patient_id, [])
        patient = self.patients.get(visit.patient_id)
        info = render.VisitNotice(
            visit_id=visit.id,
            patient_id=visit.patient_id,
            code=visit.code,
            service_type=visit.service_type,
            day=visit.day,
            patient_first_name=_first_name(patient.full_name if patient else None),
            nurse_first_name=_first_name(nurse.name) if nurse else "",
            arrival=arrival_window(
                visit.planned_start, (visit.window_start, visit.window_end), self.tz
            )
            if visit.planned_start is not None
            else None,
            reason=reason,
            phone=self.config.clinic.phone,
        )
        for account in accounts:
            tr = Translator(account.language)
            reply = (
                render.visit_unplaced(tr, self.config, info)
                if kind == "unplaced"
                else render.visit_planned(tr, self.config, info, kind)
            )
            await outbox.queue(
                self.session,
                chat_id=account.chat_id,
                method="sendMessage",
                payload=to_payload(account.chat_id, reply),
                kind=f"plan_{kind}",
                clinic_id=visit.clinic_id,
                account_id=account.id,
                dedupe_key=f"plan:{self.run.id}:{visit.id}:{account.id}",
            )
        return bool(accounts)

    async def _load_families(self, patient_ids: set[int]) -> None:
        """Patients and the accounts that hear about them, in two queries for the whole day
        (the write transaction holds the database's write lock: keep it short)."""
        ids = sorted(patient_ids)
        self.patients = {
            p.id: p for p in await self.session.scalars(select(Patient).where(Patient.id.in_(ids)))
        }
        self.families = {}
        for patient_id, account in await self.session.execute(
            select(PatientLink.patient_id, Account)
            .join(Account, Account.id == PatientLink.account_id)
            .where(
                PatientLink.patient_id.in_(ids),
                PatientLink.revoked_at.is_(None),
                Account.deleted_at.is_(None),
            )
            .order_by(Account.id)
        ):
            self.families.setdefault(patient_id, []).append(account)

    async def _tell_heads(self) -> None:
        """The report to whoever asked (/rencana); heads see unplaced visits as staff tasks."""
        if self.run.requested_by_account_id is None:
            return
        account = await self.session.get(Account, self.run.requested_by_account_id)
        if account is None or account.deleted_at is not None:
            return
        report = _report(self.facts.day, self.run.kind, self.solved.plan, self.newly_unplaced)
        reply = render.plan_report(Translator(account.language), report)
        await outbox.queue(
            self.session,
            chat_id=account.chat_id,
            method="sendMessage",
            payload=to_payload(account.chat_id, reply),
            kind="plan_report",
            clinic_id=self.facts.clinic_id,
            account_id=account.id,
            dedupe_key=f"plan-report:{self.run.id}:{account.id}",
        )


def _report(
    day: date, kind: str, plan: pm.Plan, unplaced: Sequence[tuple[Visit, str]]
) -> render.PlanReport:
    t = plan.totals
    return render.PlanReport(
        day=day,
        kind=kind,
        ok=True,
        visits=t.visits,
        assigned=t.assigned,
        unassigned=t.unassigned,
        nurses_used=t.nurses_used,
        travel_min=round(t.travel_s / 60),
        distance_km=round(t.distance_m / 1000, 1),
        unplaced=tuple((v.code, reason) for v, reason in unplaced),
    )


async def _sync_reminders(
    session: AsyncSession, visit: Visit, config: Config, now: datetime
) -> None:
    """Reminders follow the planned time (the delivery side owns them)."""
    await sync_visit_reminders(session, visit, config, now)


# --- one run ---------------------------------------------------------------------------------


async def run_plan(
    db: Database,
    config: Config,
    run_id: int,
    now: datetime,
    options: SolveOptions | None = None,
    *,
    merged: Sequence[int] = (),
) -> PlanOutcome:
    """Run the queued `PlanRun` `run_id` (marked running by the caller): read, solve, write.

    `merged` are other queued runs of the same day this run answers as well (their requesters
    get the report too).
    """
    options = options or SolveOptions()
    async with db.read() as session:
        run = await session.get(PlanRun, run_id)
        if run is None:
            raise ValueError(f"no plan run {run_id}")
        clinic_id, day, kind = run.clinic_id, run.day, run.kind
    time_limit = options.time_limit_s or config.planner.time_limit_s
    started = asyncio.get_running_loop().time()
    if day < local_today(config, now):
        return await _fail(db, config, run_id, merged, now, "day_over")
    error: str | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        limit = time_limit if attempt < MAX_ATTEMPTS else min(time_limit, LAST_ATTEMPT_TIME_LIMIT_S)
        async with db.read() as session:
            facts = await read_day(session, config, clinic_id, day, now)
        try:
            solved = await solve_day(config, facts, kind, options, limit)
        except Exception as exc:  # a bug or bad data must not kill the worker; heads are told
            log.exception("plan run %s for %s failed", run_id, day)
            error = f"{type(exc).__name__}: {exc}"
            break
        try:
            outcome = await _write(db, config, run_id, merged, facts, solved, now, attempt)
        except _Changed:
            log.info("plan run %s: the day changed while solving; again (%s)", run_id, attempt)
            continue
        return dataclasses.replace(
            outcome, runtime_s=round(asyncio.get_running_loop().time() - started, 3)
        )
    return await _fail(db, config, run_id, merged, now, error or "concurrent_changes")


async def _write(
    db: Database,
    config: Config,
    run_id: int,
    merged: Sequence[int],
    facts: DayFacts,
    solved: Solved,
    now: datetime,
    attempt: int,
) -> PlanOutcome:
    async with db.transaction() as session:
        seen = await _fingerprint(session, facts.clinic_id, facts.day, lock=True)
        if seen != facts.fingerprint:
            raise _Changed
        run = await session.get(PlanRun, run_id)
        assert run is not None
        writer = _Writer(session, config, facts, solved, run, now)
        await writer.apply()
        run.status = "done"
        run.finished_at = now
        run.request = request_to_json(solved.request)
        run.result = plan_to_json(solved.plan)
        run.error = None
        await _finish_merged(session, config, run, merged, writer, now)
        plan = solved.plan
        t = plan.totals
        outcome = PlanOutcome(
            run_id=run_id,
            day=facts.day,
            kind=run.kind,
            status="done",
            mode=solved.mode,
            assigned=t.assigned,
            visits=t.visits,
            unplaced=tuple((int(u.visit), u.reason) for u in plan.unassigned),
            nurses_used=t.nurses_used,
            travel_s=t.travel_s,
            distance_m=t.distance_m,
            attempts=attempt,
            notes=tuple(writer.notes),
            changed_nurses=tuple(sorted(writer.changed_nurses)),
            solved=solved,
        )
    return outcome


async def _finish_merged(
    session: AsyncSession,
    config: Config,
    run: PlanRun,
    merged: Sequence[int],
    writer: _Writer,
    now: datetime,
) -> None:
    for other_id in merged:
        other = await session.get(PlanRun, other_id)
        if other is None:
            continue
        other.status = "done"
        other.finished_at = now
        other.result = {"merged_into": run.id}
        if other.requested_by_account_id is not None:
            account = await session.get(Account, other.requested_by_account_id)
            if account is None or account.deleted_at is not None:
                continue
            report = _report(run.day, other.kind, writer.solved.plan, writer.newly_unplaced)
            reply = render.plan_report(Translator(account.language), report)
            await outbox.queue(
                session,
                chat_id=account.chat_id,
                method="sendMessage",
                payload=to_payload(account.chat_id, reply),
                kind="plan_report",
                clinic_id=run.clinic_id,
                account_id=account.id,
                dedupe_key=f"plan-report:{other.id}:{account.id}",
            )


async def _fail(
    db: Database,
    config: Config,
    run_id: int,
    merged: Sequence[int],
    now: datetime,
    error: str,
) -> PlanOutcome:
    async with db.transaction() as session:
        run = await session.get(PlanRun, run_id)
        assert run is not None
        runs = [run, *[r for r in [await session.get(PlanRun, m) for m in merged] if r]]
        for r in runs:
            r.status = "failed"
            r.finished_at = now
            r.error = error[:2000]
        # Heads must know: tomorrow's families are waiting for a time.
        told: set[int] = set()
        for r in runs:
            targets = (
                [await session.get(Account, r.requested_by_account_id)]
                if r.requested_by_account_id is not None
                else await head_accounts(session, r.clinic_id)
            )
            for account in targets:
                if account is None or account.deleted_at is not None or account.id in told:
                    continue
                told.add(account.id)
                report = render.PlanReport(day=r.day, kind=r.kind, ok=False, error=error)
                reply = render.plan_report(Translator(account.language), report)
                await outbox.queue(
                    session,
                    chat_id=account.chat_id,
                    method="sendMessage",
                    payload=to_payload(account.chat_id, reply),
                    kind="plan_report",
                    clinic_id=r.clinic_id,
                    account_id=account.id,
                    dedupe_key=f"plan-report:{r.id}:{account.id}",
                )
        return PlanOutcome(run_id=run_id, day=run.day, kind=run.kind, status="failed", error=error)


# --- the queue -------------------------------------------------------------------------------

_worker: PlanningWorker | None = None


def _wake_after_commit(session: AsyncSession) -> None:
    """Wake the running worker once this transaction commits (it reads committed rows)."""
    worker = _worker
    if worker is None:
        return

    def wake(_session: Any) -> None:
        worker.wake()

    event.listen(session.sync_session, "after_commit", wake, once=True)


async def enqueue(
    session: AsyncSession,
    clinic_id: int,
    day: date,
    kind: str,
    now: datetime,
    *,
    reason: str | None = None,
    requested_by_account_id: int | None = None,
) -> PlanRun:
    """Queue a planning run in the caller's transaction; the worker runs it after the commit."""
    if kind not in KINDS:
        raise ValueError(f"unknown plan run kind {kind!r}")
    run = PlanRun(
        clinic_id=clinic_id,
        day=day,
        kind=kind,
        status="queued",
        started_at=now,
        reason=(reason or "")[:200] or None,
        requested_by_account_id=requested_by_account_id,
    )
    session.add(run)
    await session.flush()
    _wake_after_commit(session)
    return run


async def _day_is_planned(session: AsyncSession, clinic_id: int, day: date) -> bool:
    return (
        await session.scalar(
            select(Route.id).where(Route.clinic_id == clinic_id, Route.day == day).limit(1)
        )
    ) is not None


async def _drop_stop(session: AsyncSession, visit: Visit) -> None:
    for stop in list(
        await session.scalars(select(RouteStop).where(RouteStop.visit_id == visit.id))
    ):
        await session.delete(stop)
    await session.flush()


async def on_visit_cancelled(
    session_or_db: AsyncSession | Database, visit: Visit, now: datetime
) -> bool:
    """Call after a visit was cancelled (any actor). Its route stop goes at once; when its day
    is planned and not over, a re-plan of that day is queued. Returns True when queued.

    With a session, this happens in the caller's transaction (the re-plan runs after its commit);
    with a `Database`, in a transaction of its own.
    """
    if isinstance(session_or_db, Database):
        async with session_or_db.transaction() as session:
            fresh = await session.get(Visit, visit.id)
            return fresh is not None and await _after_cancel(session, fresh, now)
    return await _after_cancel(session_or_db, visit, now)


async def on_visit_moved(session: AsyncSession, visit: Visit, old_day: date, now: datetime) -> bool:
    """Call after a planned visit was moved to another day or window (a reschedule): it leaves its
    route at once, and the day it left is re-planned when that day is planned and not over. The
    visit itself waits for its new day's plan. Returns True when a re-plan was queued."""
    return await _after_cancel(session, visit, now, day=old_day, why="moved")


async def _after_cancel(
    session: AsyncSession,
    visit: Visit,
    now: datetime,
    *,
    day: date | None = None,
    why: str = "cancelled",
) -> bool:
    day = visit.day if day is None else day
    await _drop_stop(session, visit)
    clinic_tz = await _clinic_tz(session, visit.clinic_id)
    if day < now.astimezone(clinic_tz).date():
        return False
    if not await _day_is_planned(session, visit.clinic_id, day):
        return False
    await enqueue(session, visit.clinic_id, day, "replan", now, reason=f"visit {visit.code} {why}")
    return True


async def _clinic_tz(session: AsyncSession, clinic_id: int) -> ZoneInfo:
    name = await session.scalar(select(Clinic.timezone).where(Clinic.id == clinic_id))
    return ZoneInfo(name or "Asia/Makassar")


async def replan_if_planned(
    session: AsyncSession, clinic_id: int, day: date, now: datetime, reason: str
) -> bool:
    """Staffing changed for `day` (leave approved, recorded or refused): when that day already has
    routes and is not over, queue its re-plan (runs after the commit). Returns True when queued."""
    if day < now.astimezone(await _clinic_tz(session, clinic_id)).date():
        return False
    if not await _day_is_planned(session, clinic_id, day):
        return False
    await enqueue(session, clinic_id, day, "replan", now, reason=reason)
    return True


async def replan_after_reassign(
    session: AsyncSession, *, clinic_id: int, day: date, now: datetime
) -> None:
    """A head moved a visit to another nurse: re-time the day (queued, runs after the commit)."""
    await enqueue(session, clinic_id, day, "replan", now, reason="visit reassigned by a head")


async def queue_urgent_insert(session: AsyncSession, visit: Visit, now: datetime) -> PlanRun:
    """A same-day visit (e.g. an urgent one a head booked by phone, status requested, no nurse)
    goes into today's routes at least cost after the commit; the others keep nurse and order."""
    return await enqueue(
        session, visit.clinic_id, visit.day, "insert", now, reason=f"visit {visit.code} added"
    )


@dataclass(frozen=True)
class SickResult:
    queued: bool
    visits_affected: int


async def nurse_reports_sick(
    session: AsyncSession, config: Config, nurse: Nurse, account: Account, now: datetime
) -> SickResult:
    """The nurse cannot work (the rest of) today: leave from now, heads told, re-plan queued.

    Stops she has started stay with her; the others go to colleagues or are left unplaced with
    a reason (families told by the re-plan).
    """
    tz = config.clinic.tz
    local = now.astimezone(tz)
    today = local.date()
    until = local.time().replace(microsecond=0)
    leave = await session.scalar(
        select(NurseLeave).where(NurseLeave.nurse_id == nurse.id, NurseLeave.day == today)
    )
    if leave is None:
        leave = NurseLeave(nurse_id=nurse.id, day=today)
        session.add(leave)
    start = nurse.shift_start
    if leave.available_from is not None and leave.available_until is not None:
        start = max(start, leave.available_from)
        until = min(until, leave.available_until)
    leave.kind = "sick"
    leave.approved = True
    if until <= start:
        leave.available_from = leave.available_until = None  # the whole day
    else:
        leave.available_from, leave.available_until = start, until
    open_visits = list(
        await session.scalars(
            select(Visit).where(
                Visit.nurse_id == nurse.id,
                Visit.day == today,
                Visit.status.in_(sorted(ASSIGNED)),
            )
        )
    )
    session.add(
        StaffTask(
            clinic_id=nurse.clinic_id,
            kind="nurse_sick",
            account_id=account.id,
            detail=f"{nurse.name}: sick from {local:%H:%M}, {len(open_visits)} visits to move"[
                :300
            ],
            created_at=now,
        )
    )
    await _tell_heads_now(
        session,
        nurse.clinic_id,
        lambda tr: render.heads_nurse_sick(tr, nurse.name, local.time(), len(open_visits)),
        f"sick:{nurse.id}:{today.isoformat()}",
    )
    await session.flush()
    queued = False
    if open_visits:
        await enqueue(
            session, nurse.clinic_id, today, "replan", now, reason=f"nurse {nurse.id} sick"
        )
        queued = True
    return SickResult(queued, len(open_visits))


async def nurse_cannot_come(
    session: AsyncSession,
    config: Config,
    nurse: Nurse,
    account: Account,
    visit: Visit,
    now: datetime,
) -> bool:
    """The nurse cannot make this visit: heads told; when it has not started it is re-planned
    today without her (True). Once she is on the way only a head can change it (False)."""
    patient = await session.get(Patient, visit.patient_id)
    session.add(
        StaffTask(
            clinic_id=visit.clinic_id,
            kind="nurse_cannot_come",
            patient_id=visit.patient_id,
            visit_id=visit.id,
            account_id=account.id,
            detail=f"{visit.code}: {nurse.name} cannot come ({visit.status})"[:300],
            created_at=now,
        )
    )
    started = visit.status not in ASSIGNED
    await _tell_heads_now(
        session,
        visit.clinic_id,
        lambda tr: render.heads_cannot_come(
            tr,
            nurse.name,
            visit.code,
            _first_name(patient.full_name if patient else None),
            started,
        ),
        f"cannot-come:{visit.id}:{nurse.id}",
    )
    await session.flush()
    if started:
        return False
    await _drop_stop(session, visit)
    await enqueue(
        session,
        visit.clinic_id,
        visit.day,
        "replan",
        now,
        reason=f"nurse {nurse.id} cannot come to visit {visit.code}",
    )
    return True


async def _tell_heads_now(
    session: AsyncSession,
    clinic_id: int,
    make: Callable[[Translator], Any],
    key: str,
) -> None:
    for head in await head_accounts(session, clinic_id):
        reply = make(Translator(head.language))
        await outbox.queue(
            session,
            chat_id=head.chat_id,
            method="sendMessage",
            payload=to_payload(head.chat_id, reply),
            kind="staff_alert",
            clinic_id=clinic_id,
            account_id=head.id,
            dedupe_key=f"{key}:{head.id}",
        )


# --- the worker ------------------------------------------------------------------------------


class PlanningWorker:
    """Runs queued plan runs, one at a time, outside any update's transaction.

    `on_done(outcome)` is called after each run: the app wakes the outbox relay and sends
    changed routes to nurses who already had today's (scheduler/jobs.py).
    """

    def __init__(
        self,
        db: Database,
        config: Config,
        clinic_id: int,
        *,
        on_done: Callable[[PlanOutcome], Any] | None = None,
        options: SolveOptions | None = None,
        clock: Callable[[], datetime] | None = None,
        poll_s: float = 30.0,
    ) -> None:
        self.db = db
        self.config = config
        self.clinic_id = clinic_id
        self.on_done = on_done
        self.options = options or SolveOptions()
        self.clock = clock or (lambda: datetime.now(UTC))
        self.poll_s = poll_s
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        # Recent outcomes by run id (merged runs point at the outcome that answered them).
        self.recent: dict[int, PlanOutcome] = {}

    def register(self) -> None:
        """Become the worker that `enqueue` wakes after a commit (one per process)."""
        global _worker
        _worker = self

    def unregister(self) -> None:
        global _worker
        if _worker is self:
            _worker = None

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def recover(self) -> int:
        """Runs a crash left "running" are queued again."""
        async with self.db.transaction() as session:
            result = await session.execute(
                update(PlanRun)
                .where(PlanRun.clinic_id == self.clinic_id, PlanRun.status == "running")
                .values(status="queued")
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def _claim(self) -> tuple[int, list[int]] | None:
        """The oldest queued run, plus the other queued runs of its day (merged into it)."""
        async with self.db.transaction() as session:
            first = await session.scalar(
                select(PlanRun)
                .where(PlanRun.clinic_id == self.clinic_id, PlanRun.status == "queued")
                .order_by(PlanRun.id)
                .limit(1)
            )
            if first is None:
                return None
            same = list(
                await session.scalars(
                    select(PlanRun)
                    .where(
                        PlanRun.clinic_id == self.clinic_id,
                        PlanRun.status == "queued",
                        PlanRun.day == first.day,
                    )
                    .order_by(PlanRun.id)
                )
            )
            # The widest kind wins: a full re-plan covers an insertion.
            main = next((r for r in same if r.kind != "insert"), first)
            for r in same:
                r.status = "running"
            return main.id, [r.id for r in same if r.id != main.id]

    async def run_pending(self, now: datetime | None = None) -> list[PlanOutcome]:
        """Run every queued run (oldest day first); returns what happened."""
        outcomes: list[PlanOutcome] = []
        async with self._lock:
            while not self._stopping.is_set():
                claimed = await self._claim()
                if claimed is None:
                    break
                run_id, merged = claimed
                try:
                    outcome = await run_plan(
                        self.db,
                        self.config,
                        run_id,
                        now or self.clock(),
                        self.options,
                        merged=merged,
                    )
                except Exception as exc:  # never leave a run "running" behind
                    log.exception("plan run %s crashed", run_id)
                    outcome = await _fail(
                        self.db, self.config, run_id, merged, now or self.clock(), repr(exc)
                    )
                outcomes.append(outcome)
                for answered in (run_id, *merged):
                    self.recent[answered] = outcome
                while len(self.recent) > 200:
                    self.recent.pop(next(iter(self.recent)))
                if self.on_done is not None:
                    result = self.on_done(outcome)
                    if asyncio.iscoroutine(result):
                        await result
        return outcomes

    async def run_until_done(self, run_id: int, now: datetime | None = None) -> PlanOutcome | None:
        """Run the queue (or wait for the pass that is running it) and return `run_id`'s outcome."""
        await self.run_pending(now)
        return self.recent.get(run_id)

    async def run_forever(self) -> None:
        await self.recover()
        while not self._stopping.is_set():
            try:
                await self.run_pending()
            except Exception:
                log.exception("planning worker pass failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_s)


# --- nightly ---------------------------------------------------------------------------------


async def nightly_run_due(
    session: AsyncSession, config: Config, clinic_id: int, day: date, now: datetime
) -> bool:
    """No nightly run for `day` has finished since today's `plan_at` (idempotent job)."""
    tz = config.clinic.tz
    local = now.astimezone(tz)
    since = datetime.combine(local.date(), config.schedule.plan_at, tzinfo=tz)
    if local < since:
        since -= timedelta(days=1)
    done = await session.scalar(
        select(PlanRun.id)
        .where(
            PlanRun.clinic_id == clinic_id,
            PlanRun.day == day,
            PlanRun.kind == "nightly",
            PlanRun.status.in_(["done", "queued", "running"]),
            PlanRun.started_at >= since,
        )
        .limit(1)
    )
    return done is None


async def day_has_run(session: AsyncSession, clinic_id: int, day: date) -> bool:
    """Some plan run for `day` is done, queued or running."""
    return (
        await session.scalar(
            select(PlanRun.id)
            .where(
                PlanRun.clinic_id == clinic_id,
                PlanRun.day == day,
                PlanRun.status.in_(["done", "queued", "running"]),
            )
            .limit(1)
        )
    ) is not None


async def has_requests(session: AsyncSession, clinic_id: int, day: date) -> bool:
    """Some visit of `day` waits for a plan (requested, not yet given to a nurse)."""
    return (
        await session.scalar(
            select(Visit.id)
            .where(
                Visit.clinic_id == clinic_id,
                Visit.day == day,
                Visit.status == S.REQUESTED.value,
            )
            .limit(1)
        )
    ) is not None


async def digest_was_queued(session: AsyncSession, nurse_id: int, day: date) -> bool:
    key = digest_key(nurse_id, day)
    return (
        await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key))
    ) is not None


def digest_key(nurse_id: int, day: date) -> str:
    return f"route-digest:{nurse_id}:{day.isoformat()}"
