"""Planning, stage 2: build the core's request from the facts read (pure) and solve it off the
event loop, with no transaction open: a full solve for a day ahead, a re-plan of a day under way
(started and committed stops pinned), or the least-cost insertion of same-day visits.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from db.services.planning.read import (
    ASSIGNED,
    PLANNABLE,
    STARTED,
    DayFacts,
    S,
    VisitFacts,
    clock_on,
    planner_weights,
    seconds_of,
)
from homecare.config import Config
from homecare.processes import run_in_process as off_loop
from scheduler.planner import model as pm
from scheduler.planner.replan import insert_visit, pin_request, replan
from scheduler.planner.solver import plan_totals, solve
from scheduler.planner.travel import resolve_travel

# --- building the request (pure) -------------------------------------------------------------


def exclusion_skill(visit_id: int) -> str:
    """The private skill token of a visit some nurse may not take (see `db.services.planning`)."""
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
        plan = await off_loop(solve, request, matrix, **limits)
        return Solved(mode, request, plan, matrix)
    now = facts.now_s
    assert now is not None
    if mode == "replan":
        visits = [v for v in facts.visits if v.status in PLANNABLE or v.nurse_id is not None]
        request = build_request(config, facts, visits)
        matrix = await resolve_travel(request)
        current = current_plan(config, facts, request, matrix)
        pinned = pin_request(request, current, now, matrix)
        plan = await off_loop(replan, request, current, now, matrix, **limits)
        return Solved(mode, pinned, plan, matrix)

    # Insertion: the routed visits keep nurse and order; each new one goes where it costs least
    # (the core re-solves only when it fits nowhere).
    full = build_request(config, facts, [*routed, *fresh])
    matrix = await resolve_travel(full)
    base = dataclasses.replace(full, visits=full.visits[: len(routed)])
    current = current_plan(config, facts, base, _slice(matrix, len(routed) + 1))
    pinned = pin_request(full, current, now, matrix)

    plan = await off_loop(insert_all, base, current, full, len(routed), now, matrix, limits)
    return Solved("insert", pinned, plan, matrix)


def insert_all(
    base: pm.PlanRequest,
    current: pm.Plan,
    full: pm.PlanRequest,
    routed: int,
    now: int,
    matrix: pm.TravelMatrix,
    limits: dict[str, Any],
) -> pm.Plan:
    """Each visit after the first `routed` inserted in turn (module level: runs in a child)."""
    request, plan = base, current
    for k in range(routed + 1, len(full.visits) + 1):
        visit = full.visits[k - 1]
        plan = insert_visit(request, plan, visit, now, _slice(matrix, k + 1), **limits)
        request = dataclasses.replace(full, visits=full.visits[:k])
    return plan
