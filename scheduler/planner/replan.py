"""Changing a day already under way: re-plan the rest, or slot in an urgent visit.

Both start from the current plan and `now` (seconds since midnight on the plan date). A stop
is *pinned* when the nurse has started it or is already travelling to it; pinned stops keep
their nurse, order and times. Nothing else starts before `now`.

- `replan` re-solves everything not pinned (PyVRP, with each nurse starting where and when
  her pinned stops leave her).
- `insert_visit` first tries the cheapest feasible position for the new visit in the current
  routes, leaving every other visit with its nurse and in its order (the least disruption
  for patients already told a time); only when no position fits does it re-solve, where an
  urgent visit may displace routine ones.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from scheduler.planner.crews import Crew, break_item, crews_for, visit_item
from scheduler.planner.model import (
    FixedStop,
    Id,
    Plan,
    PlanRequest,
    Route,
    SolverInfo,
    Stop,
    TravelMatrix,
    Visit,
)
from scheduler.planner.solver import DEFAULT_TIME_LIMIT_S, plan_totals, solve, timed_route
from scheduler.planner.timing import Item
from scheduler.planner.travel import travel_matrix


def pinned_stops(
    route: Route, now: int, durations: Sequence[Sequence[int]], place: dict[str, int]
) -> list[Stop]:
    """The prefix of `route` the nurse is already committed to at `now`: stops she has
    started, or has set off towards."""
    pinned: list[Stop] = []
    if route.leave is None:
        return pinned
    here, free = 0, route.leave
    for stop in route.stops:
        there = 0 if stop.visit is None else place.get(str(stop.visit))
        if there is None:  # the visit is no longer in the request (cancelled)
            continue
        set_off = stop.arrive - durations[here][there]
        if stop.start > now and max(set_off, free) > now:
            break
        pinned.append(stop)
        here, free = there, stop.end
    return pinned


def pin_request(
    request: PlanRequest, plan: Plan, now: int, matrix: TravelMatrix | None = None
) -> PlanRequest:
    """`request` with `now` set and each nurse's committed stops from `plan` as `fixed`."""
    matrix = matrix if matrix is not None else travel_matrix(request)
    place = {str(v.id): i + 1 for i, v in enumerate(request.visits)}
    routes = {str(r.nurse): r for r in plan.routes}
    nurses = []
    for nurse in request.nurses:
        route = routes.get(str(nurse.id))
        fixed = nurse.fixed
        if route is not None:
            stops = pinned_stops(route, now, matrix.durations_s, place)
            if nurse.break_ is None:
                stops = [s for s in stops if s.kind == "visit"]
            fixed = tuple(FixedStop(s.visit, s.arrive, s.start, s.end) for s in stops)
        nurses.append(replace(nurse, fixed=fixed))
    return replace(request, nurses=tuple(nurses), now=now)


def replan(
    request: PlanRequest,
    plan: Plan,
    now: int,
    matrix: TravelMatrix | None = None,
    *,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    max_iterations: int | None = None,
    seed: int = 0,
) -> Plan:
    """Re-plan the rest of the day at `now`, keeping every pinned stop of `plan` in place.

    `request` is the day as it stands now (visits added or cancelled since `plan` included).
    """
    pinned = pin_request(request, plan, now, matrix)
    return solve(
        pinned, matrix, time_limit_s=time_limit_s, max_iterations=max_iterations, seed=seed
    )


def insert_visit(
    request: PlanRequest,
    plan: Plan,
    visit: Visit,
    now: int,
    matrix: TravelMatrix | None = None,
    *,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    max_iterations: int | None = None,
    seed: int = 0,
) -> Plan:
    """Add `visit` (typically urgent, same day) to the plan of `request` at `now`.

    `matrix`, when given, is for the request *with* the visit appended (clinic, the request's
    visits, then `visit`); an explicit-matrix request needs it. Returns a plan for the
    extended request: the cheapest insertion when one fits, else a re-solve.
    """
    if any(str(v.id) == str(visit.id) for v in request.visits):
        raise ValueError(f"visit {visit.id!r} is already in the request")
    extended = replace(request, visits=(*request.visits, visit))
    if matrix is None:
        if isinstance(request.travel, TravelMatrix):
            raise ValueError("an explicit-matrix request needs the matrix including the visit")
        matrix = travel_matrix(extended)
    if matrix.size != len(extended.visits) + 1:
        raise ValueError(f"travel matrix has {matrix.size} rows for {len(extended.visits)} visits")
    pinned = pin_request(extended, plan, now, matrix)
    started = time.perf_counter()
    cheap = _cheapest_insertion(pinned, plan, visit, matrix)
    if cheap is not None:
        return replace(
            cheap,
            solver=SolverInfo(
                method="insertion", runtime_s=round(time.perf_counter() - started, 3)
            ),
        )
    return solve(
        pinned, matrix, time_limit_s=time_limit_s, max_iterations=max_iterations, seed=seed
    )


@dataclass(frozen=True)
class _Lane:
    """One nurse's day at `now`: where the solver would start her, and her unpinned stops in
    their current order."""

    crew: Crew
    rest: tuple[Stop, ...]
    fair_share: int

    @property
    def break_due(self) -> bool:
        """She has a break still to take that is not among her stops yet."""
        return self.crew.rest is not None and not any(s.kind == "break" for s in self.rest)


def _lanes(
    request: PlanRequest, plan: Plan, durations: Sequence[Sequence[int]], place: dict[str, int]
) -> list[_Lane]:
    routes = {str(r.nurse): r for r in plan.routes}
    lanes = []
    for crew in crews_for(request, durations, place):
        route = routes.get(str(crew.nurse.id))
        pinned = {(s.kind, str(s.visit)) for s in crew.pinned}
        rest = tuple(
            s for s in (route.stops if route else ()) if (s.kind, str(s.visit)) not in pinned
        )
        lanes.append(_Lane(crew, rest, route.fair_share_s if route is not None else 0))
    return lanes


def _timed(
    lane: _Lane,
    rest: Sequence[Stop],
    visits: dict[str, Visit],
    matrix: TravelMatrix,
    place: dict[str, int],
) -> Route | None:
    """The lane's route with `rest` after its pinned stops, timed; None if it does not fit."""
    new_stops: list[tuple[Id | None, Item]] = []
    for stop in rest:
        if stop.kind == "break":
            if lane.crew.rest is None:  # her break can no longer be taken where it was
                return None
            new_stops.append((None, break_item(lane.crew.rest)))
        else:
            key = str(stop.visit)
            new_stops.append((stop.visit, visit_item(visits[key], place[key])))
    return timed_route(lane.crew, new_stops, matrix, place, lane.fair_share)


def _cheapest_insertion(
    request: PlanRequest, plan: Plan, visit: Visit, matrix: TravelMatrix
) -> Plan | None:
    """The cheapest plan that slots `visit` into the current routes, every other visit staying
    with its nurse and in its order; None when none fits (or the plan does not match)."""
    before = {str(v.id) for v in request.visits if str(v.id) != str(visit.id)}
    accounted = {str(s.visit) for r in plan.routes for s in r.stops if s.visit is not None}
    accounted |= {str(u.visit) for u in plan.unassigned}
    if accounted != before:
        return None  # the day changed in other ways too: re-solve
    place = {str(v.id): i + 1 for i, v in enumerate(request.visits)}
    visits = {str(v.id): v for v in request.visits}
    lanes = _lanes(request, plan, matrix.durations_s, place)
    baseline = []
    for lane in lanes:
        route = _timed(lane, lane.rest, visits, matrix, place)
        if route is None:
            return None  # the plan no longer holds at `now` (someone runs late): re-solve
        baseline.append(route)
    base = plan_totals(request, baseline, plan.unassigned).objective

    new = Stop(visit.id, 0, 0, 0)
    rest_break = Stop(None, 0, 0, 0, "break")
    best: tuple[float, list[Route]] | None = None
    for index, lane in enumerate(lanes):
        crew = lane.crew
        planned = sum(1 for s in lane.rest if s.kind == "visit")
        if not crew.can_do(visit) or (crew.cap_left is not None and planned >= crew.cap_left):
            continue
        trials = []
        for i in range(len(lane.rest) + 1):
            with_visit = [*lane.rest[:i], new, *lane.rest[i:]]
            if lane.break_due:  # her first visit of the day brings her break along
                trials += [
                    [*with_visit[:j], rest_break, *with_visit[j:]]
                    for j in range(len(with_visit) + 1)
                ]
            else:
                trials.append(with_visit)
        for trial in trials:
            route = _timed(lane, trial, visits, matrix, place)
            if route is None:
                continue
            routes = [*baseline[:index], route, *baseline[index + 1 :]]
            cost = plan_totals(request, routes, plan.unassigned).objective - base
            if best is None or cost < best[0]:
                best = (cost, routes)
    if best is None:
        return None
    return Plan(
        date=request.date,
        routes=tuple(best[1]),
        unassigned=plan.unassigned,
        totals=plan_totals(request, best[1], plan.unassigned),
    )
