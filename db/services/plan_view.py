"""The head's planning page: a day's routes per nurse in order, the visits the last plan could not
place (with the planner's reason), the last run's times, and whether a run is under way.

Running a plan is `planning.enqueue` (the same queued run as the bot's /rencana and the nightly
job); this module only reads, and refuses a second run while one is queued or running.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Nurse, Patient, PlanRun, Route, RouteStop, Visit
from db.services.planning.queue import enqueue
from db.services.planning.read import patient_positions
from homecare.config import Config

BUSY = ("queued", "running")


@dataclass(frozen=True)
class PlanStop:
    seq: int
    visit_id: int
    code: str
    status: str
    start: time | None
    patient_first_name: str
    kelurahan: str
    service_type: str
    lat: float
    lon: float
    approximate: bool


@dataclass(frozen=True)
class PlanRoute:
    nurse_id: int
    nurse_name: str
    stops: tuple[PlanStop, ...]
    travel_min: int
    distance_km: float


@dataclass(frozen=True)
class Unplaced:
    visit_id: int
    code: str
    patient_first_name: str
    status: str
    reason: str


@dataclass(frozen=True)
class RunInfo:
    id: int
    status: str
    kind: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    solver_s: float | None  # the solver's own time, from the stored result


def _solver_s(run: PlanRun) -> float | None:
    solver = (run.result or {}).get("solver")
    value = solver.get("runtime_s") if isinstance(solver, dict) else None
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class PlanView:
    day: date
    routes: tuple[PlanRoute, ...]
    unplaced: tuple[Unplaced, ...]
    last_run: RunInfo | None
    busy: RunInfo | None


class PlanBusy(Exception):
    """A run is queued or running for this clinic: a second one is refused."""

    def __init__(self, run: RunInfo) -> None:
        super().__init__(f"plan run {run.id} is {run.status}")
        self.run = run


def _info(run: PlanRun) -> RunInfo:
    return RunInfo(
        run.id, run.status, run.kind, run.started_at, run.finished_at, run.error, _solver_s(run)
    )


def _first(name: str | None) -> str:
    return name.split()[0] if name and name.split() else ""


async def busy_run(session: AsyncSession, clinic_id: int) -> RunInfo | None:
    run = await session.scalar(
        select(PlanRun)
        .where(PlanRun.clinic_id == clinic_id, PlanRun.status.in_(BUSY))
        .order_by(PlanRun.id)
        .limit(1)
    )
    return _info(run) if run is not None else None


async def request_run(
    session: AsyncSession, clinic_id: int, day: date, account_id: int, now: datetime
) -> int:
    """Queue a manual run for `day` (as /rencana does), unless one is queued or running."""
    running = await busy_run(session, clinic_id)
    if running is not None:
        raise PlanBusy(running)
    run = await enqueue(
        session,
        clinic_id,
        day,
        "manual",
        now,
        reason="console /rencana",
        requested_by_account_id=account_id,
    )
    return run.id


async def _last_run(session: AsyncSession, clinic_id: int, day: date) -> PlanRun | None:
    """The day's last finished run; a merged run stands for the one that answered it."""
    run = await session.scalar(
        select(PlanRun)
        .where(
            PlanRun.clinic_id == clinic_id,
            PlanRun.day == day,
            PlanRun.status.in_(("done", "failed")),
        )
        .order_by(PlanRun.id.desc())
        .limit(1)
    )
    merged = (run.result or {}).get("merged_into") if run is not None else None
    if isinstance(merged, int):
        run = await session.get(PlanRun, merged) or run
    return run


async def _routes(
    session: AsyncSession, config: Config, clinic_id: int, day: date
) -> tuple[PlanRoute, ...]:
    tz = config.clinic.tz
    rows = list(
        await session.execute(
            select(Route, Nurse)
            .join(Nurse, Nurse.id == Route.nurse_id)
            .where(Route.clinic_id == clinic_id, Route.day == day)
            .order_by(Nurse.name, Nurse.id)
        )
    )
    stops = list(
        await session.execute(
            select(RouteStop, Visit, Patient)
            .join(Visit, Visit.id == RouteStop.visit_id)
            .join(Patient, Patient.id == Visit.patient_id)
            .where(RouteStop.route_id.in_([r.id for r, _ in rows]))
            .order_by(RouteStop.route_id, RouteStop.seq)
        )
    )
    positions = await patient_positions(session, config, clinic_id, [p for _, _, p in stops])
    by_route: dict[int, list[PlanStop]] = {}
    for stop, visit, patient in stops:
        lat, lon, approximate = positions[patient.id]
        mine = by_route.setdefault(stop.route_id, [])
        mine.append(
            PlanStop(
                seq=len(mine) + 1,
                visit_id=visit.id,
                code=visit.code,
                status=visit.status,
                start=stop.start.astimezone(tz).time(),
                patient_first_name=_first(patient.full_name),
                kelurahan=patient.kelurahan or "",
                service_type=visit.service_type,
                lat=lat,
                lon=lon,
                approximate=approximate,
            )
        )
    return tuple(
        PlanRoute(
            nurse_id=nurse.id,
            nurse_name=nurse.name,
            stops=tuple(by_route.get(route.id, ())),
            travel_min=round(route.travel_s / 60),
            distance_km=route.distance_m / 1000,
        )
        for route, nurse in rows
    )


async def _unplaced(
    session: AsyncSession, clinic_id: int, day: date, run: PlanRun | None
) -> tuple[Unplaced, ...]:
    """The last run's unplaced visits that still wait for a nurse (not cancelled since)."""
    reasons: dict[int, str] = {}
    for u in (run.result or {}).get("unassigned", []) if run is not None else []:
        if isinstance(u, dict) and str(u.get("visit", "")).isdigit():
            reasons[int(u["visit"])] = str(u.get("reason", ""))
    if not reasons:
        return ()
    rows = await session.execute(
        select(Visit, Patient)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(
            Visit.clinic_id == clinic_id,
            Visit.day == day,
            Visit.id.in_(sorted(reasons)),
            Visit.status.in_(("requested", "unplaced")),
        )
        .order_by(Visit.window_start, Visit.id)
    )
    return tuple(
        Unplaced(v.id, v.code, _first(p.full_name), v.status, reasons[v.id]) for v, p in rows
    )


async def load(session: AsyncSession, config: Config, clinic_id: int, day: date) -> PlanView:
    run = await _last_run(session, clinic_id, day)
    return PlanView(
        day=day,
        routes=await _routes(session, config, clinic_id, day),
        unplaced=await _unplaced(session, clinic_id, day, run),
        last_run=_info(run) if run is not None else None,
        busy=await busy_run(session, clinic_id),
    )
