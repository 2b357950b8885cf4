"""PlanRequest → Plan with PyVRP 0.14 (the model is described in docs/planning.md).

One vehicle type per nurse. Its routing profile's *distance* matrix is the cost of an arc:
weighted travel time, plus the continuity cost on arcs into a visit whose patient prefers
another nurse, plus a prohibitive cost on arcs into a visit she may not do; nurses whose
matrices would be equal share one profile (profiles.py). Visits are optional PyVRP clients
with tiered prizes (urgent ≫ routine ≫ optional), so capacity shortage drops the least
important visits. The visit cap is load dimension 0; breaks are required clients at the
clinic, kept to their nurses by one load dimension per kind of break; the balance term is
PyVRP's overtime cost beyond each nurse's fair share of the day's work.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyvrp
from pyvrp.search import OPERATORS, LocalSearch, PerturbationManager, compute_neighbours
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from scheduler.planner.crews import (
    Crew,
    break_item,
    crews_for,
    fair_shares,
    location_of,
    triage,
    visit_item,
)
from scheduler.planner.model import (
    CAPACITY,
    OPTIONAL_DEFERRED,
    Id,
    Plan,
    PlanRequest,
    Route,
    SolverInfo,
    Stop,
    Totals,
    TravelMatrix,
    Unassigned,
    Visit,
)
from scheduler.planner.profiles import break_classes, group_profiles, profile_key
from scheduler.planner.timing import Item, Timing, time_route
from scheduler.planner.travel import travel_matrix

log = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT_S = 5.0
# Prizes stay below MAX_PRIZE and penalties below MAX_PENALTY (per second of lateness or per
# visit over a cap), so that penalised costs stay far from int64 overflow even for a random
# start full of forbidden arcs (≤ 400 × FORBIDDEN_S of lateness).
MAX_PRIZE = 1e11
MAX_PENALTY = 1e9
# The search starts with mild penalties, so it may cross infeasible ground early on; huge
# ones (PyVRP's default start is the middle of its range) leave it stuck among feasible plans.
INITIAL_PENALTY = 100.0
# Late-acceptance history and perturbation size of the day's search (PyVRP's defaults are 300
# and 1–25, tuned for long runs): a 5 s run on a 120-visit day does only 1,500–3,000
# iterations, and with a history of 300 it accepted almost anything for most of them
# (bench/README.md, rich days). Shorter history, smaller kicks: more iterations, each kept
# closer to the best; 60 s runs stay as good (3 of 4 rich days better, one 1 % worse).
HISTORY_LENGTH = 50
MAX_PERTURBATIONS = 10
# Travel time added on arcs into a visit the nurse may not do (or another nurse's break):
# lateness of at least a day, so such a plan is never feasible.
FORBIDDEN_S = 2 * 24 * 3600
UNLIMITED = int(np.iinfo(np.int64).max)


@dataclass(frozen=True)
class SolverRun:
    """What `run_pyvrp` found: the best (feasible when one was found) solution and effort."""

    solution: pyvrp.Solution
    iterations: int
    runtime_s: float


def stopping_criterion(time_limit_s: float | None, max_iterations: int | None) -> StoppingCriterion:
    """Stop at whichever limit comes first; with neither, after the default time limit."""
    criteria: list[StoppingCriterion] = []
    if time_limit_s is not None:
        criteria.append(MaxRuntime(time_limit_s))
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    if not criteria:
        criteria.append(MaxRuntime(DEFAULT_TIME_LIMIT_S))
    return MultipleCriteria(criteria)


def run_pyvrp(
    data: pyvrp.ProblemData,
    *,
    time_limit_s: float | None = None,
    max_iterations: int | None = None,
    seed: int = 0,
    initial_penalty: float | None = None,
    max_penalty: float | None = None,
    fallback: pyvrp.Solution | None = None,
    hard_loads: Sequence[int] = (),
    history_length: int = 300,
    max_perturbations: int = 25,
) -> SolverRun:
    """The small interface to PyVRP's iterated local search (as `pyvrp.solve`, plus a fallback).

    `initial_penalty` / `max_penalty` set the penalty per unit of time warp and excess load
    at the start and at most (PyVRP's defaults otherwise). `fallback` is a known feasible
    solution: when the search would start from an infeasible one, it starts from `fallback`,
    so the result is feasible whenever a fallback is given. Load dimensions in `hard_loads`
    start at the largest penalty: they encode rules (whose break is whose), not resources,
    and with a mild start the search sat in plans with two breaks on one route.
    `history_length` (late acceptance) and `max_perturbations` (the most clients moved per
    kick) default to PyVRP's own values.
    """
    penalty_params = pyvrp.PenaltyParams()
    if max_penalty is not None:
        penalty_params = pyvrp.PenaltyParams(max_penalty=max(max_penalty, 1.0))
    initial = penalty_params.midpoint_penalties(data)
    if initial_penalty is not None:
        value = min(max(initial_penalty, penalty_params.min_penalty), penalty_params.max_penalty)
        initial = ([value] * data.num_load_dimensions, value, value)
    if hard_loads:
        loads = list(initial[0])
        for dim in hard_loads:
            loads[dim] = penalty_params.max_penalty
        initial = (loads, initial[1], initial[2])
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    kicks = pyvrp.search.PerturbationParams(min(1, max_perturbations), max_perturbations)
    search = LocalSearch(data, rng, compute_neighbours(data), PerturbationManager(kicks))
    for operator in OPERATORS:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalties = pyvrp.PenaltyManager(initial, penalty_params)
    init = search(
        pyvrp.Solution.make_random(data, rng), penalties.max_cost_evaluator(), exhaustive=True
    )
    if fallback is not None and not init.is_feasible():
        improved = search(fallback, penalties.max_cost_evaluator(), exhaustive=True)
        init = improved if improved.is_feasible() else fallback
    params = pyvrp.IteratedLocalSearchParams(history_length=history_length)
    algorithm = pyvrp.IteratedLocalSearch(data, penalties, search, init, params)
    result = algorithm.run(stopping_criterion(time_limit_s, max_iterations), collect_stats=False)
    return SolverRun(result.best, result.num_iterations, result.runtime)


# --- building the plan ----------------------------------------------------------------------


def timed_route(
    crew: Crew,
    new_stops: Sequence[tuple[Id | None, Item]],
    matrix: TravelMatrix,
    where: dict[str, int],
    fair_share: int,
) -> Route | None:
    """Time a nurse's route (pinned stops, then `new_stops`); None if it cannot be kept.

    `fair_share` is reported as given (the balance threshold for the whole route).
    """
    durations, distances = matrix.durations_s, matrix.distances_m
    if not crew.pinned and not any(ref is not None for ref, _ in new_stops):
        # Nothing to do: a nurse without visits is not called in for her break alone.
        return Route(crew.nurse.id, None, None, (), 0, 0, fair_share)
    timing = time_route(
        durations,
        crew.origin,
        crew.ready,
        [item for _, item in new_stops],
        crew.deadline,
        delay_departure=crew.delay,
    )
    if timing is None:
        if new_stops or crew.active:
            return None
        # A pinned-only route that already runs late is a fact, not a plan: keep it.
        timing = Timing(crew.ready, (), (), (), crew.ready + durations[crew.origin][0])
    stops = list(crew.pinned)
    for (ref, _), a, s, e in zip(new_stops, timing.arrive, timing.start, timing.end, strict=True):
        stops.append(
            Stop(visit=ref, arrive=a, start=s, end=e, kind="break" if ref is None else "visit")
        )
    path = [0, *(location_of(stop, where) for stop in stops), 0]
    travel = sum(durations[a][b] for a, b in itertools.pairwise(path))
    distance = sum(distances[a][b] for a, b in itertools.pairwise(path))
    leave = crew.ready - crew.elapsed(durations, where) if crew.pinned else timing.leave
    return Route(crew.nurse.id, leave, timing.back, tuple(stops), travel, distance, fair_share)


def _tier(visit: Visit) -> int:
    return 2 if visit.priority == "urgent" else 0 if visit.optional else 1


def _route_or_repair(
    crew: Crew,
    new_stops: list[tuple[Id | None, Item]],
    visits: dict[str, Visit],
    matrix: TravelMatrix,
    where: dict[str, int],
    fair_share: int,
) -> tuple[Route, list[Visit]]:
    """Time the route; should it not fit (it always does for a feasible PyVRP solution), drop
    the least important, latest visits until it does."""
    dropped: list[Visit] = []
    while True:
        route = timed_route(crew, new_stops, matrix, where, fair_share)
        if route is not None:
            return route, dropped
        positions = [i for i, (ref, _) in enumerate(new_stops) if ref is not None]
        if not positions:
            new_stops = []  # the break alone cannot fit: leave it out
            continue
        worst = min(positions, key=lambda i: (_tier(visits[str(new_stops[i][0])]), -i))
        log.warning("planner: route of nurse %r did not time out; dropping a visit", crew.nurse.id)
        dropped.append(visits[str(new_stops[worst][0])])
        del new_stops[worst]


def plan_totals(
    request: PlanRequest, routes: Sequence[Route], unassigned: Sequence[Unassigned]
) -> Totals:
    """Totals of a plan, including the objective in travel-seconds."""
    visits = {str(v.id): v for v in request.visits}
    misses = 0
    for route in routes:
        for stop in route.stops:
            if stop.visit is None:
                continue
            preferred = visits[str(stop.visit)].preferred_nurse
            if preferred is not None and str(preferred) != str(route.nurse):
                misses += 1
    excess = sum(max(0, route.duration_s - route.fair_share_s) for route in routes if route.stops)
    travel = sum(route.travel_s for route in routes)
    weights = request.weights
    return Totals(
        visits=len(request.visits),
        assigned=sum(route.visit_count for route in routes),
        unassigned=len(unassigned),
        urgent_unassigned=sum(1 for u in unassigned if visits[str(u.visit)].priority == "urgent"),
        travel_s=travel,
        distance_m=sum(route.distance_m for route in routes),
        balance_excess_s=excess,
        continuity_misses=misses,
        nurses_used=sum(1 for route in routes if route.visit_count),
        objective=round(
            weights.travel * travel + weights.balance * excess + weights.continuity * misses, 3
        ),
    )


# --- the PyVRP model ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Model:
    data: pyvrp.ProblemData
    fallback: pyvrp.Solution
    max_penalty: float
    vehicle_crew: list[int]  # vehicle type → crew index
    client_ref: list[tuple[int, Id | None]]  # client → (break class | -1, visit id)
    crew_class: dict[int, int]  # crew index → class of her pending break


def _build_model(
    request: PlanRequest,
    crews: list[Crew],
    candidates: list[tuple[Visit, list[int]]],
    durations: np.ndarray,
    where: dict[str, int],
    shares: list[int],
    *,
    share_profiles: bool = True,
) -> _Model:
    weights = request.weights
    n_places = durations.shape[0]
    vehicle_crew = [k for k, crew in enumerate(crews) if crew.active]
    rest_crews = [k for k in vehicle_crew if crews[k].rest is not None]
    classes, n_classes = break_classes(
        [break_item(crews[k].rest) for k in rest_crews]  # type: ignore[arg-type]
    )
    crew_class = {k: c for k, c in zip(rest_crews, classes, strict=True) if c is not None}
    # Each pending break gets its own copy of the clinic (a client of its own location).
    size = n_places + len(rest_crews)
    extended = np.zeros((size, size), dtype=np.int64)
    extended[:n_places, :n_places] = durations
    for b in range(len(rest_crews)):
        extended[n_places + b, :n_places] = durations[0]
        extended[:n_places, n_places + b] = durations[:, 0]

    n_optional = sum(1 for v, _ in candidates if v.optional)
    n_routine = sum(1 for v, _ in candidates if v.priority == "routine" and not v.optional)
    horizon = max((crews[k].deadline - crews[k].ready for k in vehicle_crew), default=0)
    # Prize tiers: an optional visit outweighs its largest possible marginal cost; a routine
    # one outweighs all optional ones together; an urgent one all routine ones together.
    unit = (
        weights.travel * 2 * float(extended.max(initial=0))
        + weights.continuity
        + weights.balance * horizon
        + 1.0
    )
    prize_of = {0: unit, 1: unit * (n_optional + 1)}
    prize_of[2] = prize_of[1] * (n_routine + 1)
    scale = min(10.0, MAX_PRIZE / prize_of[2])
    forbidden = int(2 * scale * prize_of[2]) + 1

    locations = [pyvrp.Location(x=request.depot.lon, y=request.depot.lat)]
    locations += [pyvrp.Location(x=v.lon, y=v.lat) for v in request.visits]
    locations += [pyvrp.Location(x=request.depot.lon, y=request.depot.lat) for _ in rest_crews]

    depots = [pyvrp.Depot(location=0)]
    depot_of: dict[int, int] = {0: 0}
    for k in vehicle_crew:
        if crews[k].origin not in depot_of:
            depot_of[crews[k].origin] = len(depots)
            depots.append(pyvrp.Depot(location=crews[k].origin))

    # Load dimension 0 is the visit cap; dimension 1 + c holds the breaks of class c.
    clients: list[pyvrp.Client] = []
    client_ref: list[tuple[int, Id | None]] = []
    for visit, _ in candidates:
        clients.append(
            pyvrp.Client(
                location=where[str(visit.id)],
                delivery=[1] + [0] * n_classes,
                service_duration=visit.duration_s,
                tw_early=visit.window[0],
                tw_late=visit.window[1],
                prize=round(scale * prize_of[_tier(visit)]),
                required=False,
                name=str(visit.id),
            )
        )
        client_ref.append((-1, visit.id))
    for b, k in enumerate(rest_crews):
        item = break_item(crews[k].rest)  # type: ignore[arg-type]
        load = [0] * (1 + n_classes)
        load[1 + crew_class[k]] = 1
        clients.append(
            pyvrp.Client(
                location=n_places + b,
                delivery=load,
                service_duration=item.service,
                tw_early=item.early,
                tw_late=item.late,
                required=True,
                name=f"break {crews[k].nurse.id}",
            )
        )
        client_ref.append((crew_class[k], None))

    continuity = round(scale * weights.continuity)
    keys: list[object] = [
        profile_key(k, crews[k].nurse.id, candidates, where, continuity=continuity > 0)
        if share_profiles
        else k
        for k in vehicle_crew
    ]
    profile_of, first_vehicle = group_profiles(keys)
    base_cost = np.rint(extended * (scale * weights.travel)).astype(np.int64)
    # Continuity: every arc into a visit with a preferred nurse costs `continuity` in the
    # shared matrix; only the preferred nurse's own profile lifts it (see profiles.py).
    preferred_cols = [where[str(v.id)] for v, _ in candidates if v.preferred_nurse is not None]
    if continuity > 0:
        base_cost[:, preferred_cols] += continuity
    cost_matrices, duration_matrices = [], []
    for v_index in first_vehicle:
        k = vehicle_crew[v_index]
        key = profile_key(k, crews[k].nurse.id, candidates, where, continuity=continuity > 0)
        cost, travel = base_cost.copy(), extended.copy()
        forbidden_columns = sorted(key.forbidden)
        cost[:, forbidden_columns] += forbidden
        travel[:, forbidden_columns] += FORBIDDEN_S
        cost[:, sorted(key.preferred)] -= continuity
        np.fill_diagonal(cost, 0)
        np.fill_diagonal(travel, 0)
        cost_matrices.append(cost)
        duration_matrices.append(travel)
    vehicle_types = []
    overtime_cost = round(scale * weights.balance)
    for v_index, k in enumerate(vehicle_crew):
        crew = crews[k]
        time_left = crew.deadline - crew.ready
        # Balance: route time beyond her fair share is overtime, paid at the balance weight.
        shift_duration, max_overtime = UNLIMITED, 0
        if overtime_cost > 0:
            shift_duration, max_overtime = shares[k], max(0, time_left - shares[k])
        # Room for one break of her own class only (none for a nurse without a break).
        room = [0] * n_classes
        if k in crew_class:
            room[crew_class[k]] = 1
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=1,
                capacity=[len(candidates) if crew.cap_left is None else crew.cap_left, *room],
                start_depot=depot_of[crew.origin],
                end_depot=0,
                tw_early=crew.ready,
                tw_late=crew.deadline,
                start_late=None if crew.delay else crew.ready,
                unit_distance_cost=1,
                profile=profile_of[v_index],
                name=str(crew.nurse.id),
                shift_duration=shift_duration,
                max_overtime=max_overtime,
                unit_overtime_cost=overtime_cost,
            )
        )
    data = pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=cost_matrices,  # type: ignore[arg-type]  # stub says ndarray[int]
        duration_matrices=duration_matrices,  # type: ignore[arg-type]
    )
    # Known feasible: every nurse does only her break (each fits her shift, checked above).
    first_break = len(candidates)
    fallback_routes = [
        pyvrp.Route(data, [first_break + b], vehicle_crew.index(k))
        for b, k in enumerate(rest_crews)
    ]
    fallback = pyvrp.Solution(data, fallback_routes)
    max_penalty = min(MAX_PENALTY, max(1e5, 2.0 * scale * prize_of[2]))
    return _Model(data, fallback, max_penalty, vehicle_crew, client_ref, crew_class)


def solve(
    request: PlanRequest,
    matrix: TravelMatrix | None = None,
    *,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    max_iterations: int | None = None,
    seed: int = 0,
    share_profiles: bool = True,
) -> Plan:
    """Plan the day: every visit ends up in exactly one route or in `unassigned` with a reason.

    `matrix` defaults to the request's own (explicit or estimated); pass the OSRM one from
    `resolve_travel` when there is one. The search stops at `time_limit_s` or after
    `max_iterations`, whichever comes first (fix both `max_iterations` and `seed`, with no
    time limit, for a deterministic plan). `share_profiles=False` gives every nurse her own
    routing profile, as before profiles were shared (kept for the benchmark's comparison).
    """
    matrix = matrix if matrix is not None else travel_matrix(request)
    if matrix.size != len(request.visits) + 1:
        raise ValueError(f"travel matrix has {matrix.size} rows for {len(request.visits)} visits")
    durations = np.asarray(matrix.durations_s, dtype=np.int64).reshape(matrix.size, matrix.size)
    where = {str(v.id): i + 1 for i, v in enumerate(request.visits)}
    visits = {str(v.id): v for v in request.visits}
    crews = crews_for(request, matrix.durations_s, where)
    candidates, unassigned = triage(request, crews, matrix.durations_s, where)
    shares = fair_shares(crews, candidates, durations, where)

    new_stops: list[list[tuple[Id | None, Item]]] = [[] for _ in crews]
    planned: set[str] = set()
    iterations, runtime = 0, 0.0
    started = time.perf_counter()
    if candidates:
        model = _build_model(
            request, crews, candidates, durations, where, shares, share_profiles=share_profiles
        )
        run = run_pyvrp(
            model.data,
            time_limit_s=time_limit_s,
            max_iterations=max_iterations,
            seed=seed,
            initial_penalty=INITIAL_PENALTY,
            max_penalty=model.max_penalty,
            fallback=model.fallback,
            hard_loads=range(1, model.data.num_load_dimensions),
            history_length=HISTORY_LENGTH,
            max_perturbations=MAX_PERTURBATIONS,
        )
        iterations = run.iterations
        solution = run.solution if run.solution.is_feasible() else model.fallback
        able_of = {str(visit.id): able for visit, able in candidates}
        for pyvrp_route in solution.routes():
            k = model.vehicle_crew[pyvrp_route.vehicle_type()]
            for activity in pyvrp_route.schedule():
                if not activity.is_client():
                    continue
                owner, ref = model.client_ref[activity.idx]
                if ref is None:
                    if owner == model.crew_class.get(k):  # a break of her class (load room)
                        new_stops[k].append((None, break_item(crews[k].rest)))  # type: ignore[arg-type]
                elif k in able_of[str(ref)]:  # never a visit she may not do
                    new_stops[k].append((ref, visit_item(visits[str(ref)], where[str(ref)])))
                    planned.add(str(ref))
    runtime = time.perf_counter() - started
    for k, crew in enumerate(crews):
        if crew.rest is not None and not any(ref is None for ref, _ in new_stops[k]):
            # No solver run (nothing to plan) or no visit for her: the break is her own time.
            new_stops[k].append((None, break_item(crew.rest)))

    routes = []
    for k, crew in enumerate(crews):
        # The balance term looks at the part still to plan: pinned time comes on top.
        share = shares[k] + crew.elapsed(matrix.durations_s, where)
        route, dropped = _route_or_repair(crew, new_stops[k], visits, matrix, where, share)
        for visit in dropped:
            planned.discard(str(visit.id))
        routes.append(route)
    for visit, _ in candidates:
        if str(visit.id) not in planned:
            unassigned.append(
                Unassigned(visit.id, OPTIONAL_DEFERRED if visit.optional else CAPACITY)
            )
    order = {str(v.id): i for i, v in enumerate(request.visits)}
    unassigned.sort(key=lambda u: order[str(u.visit)])
    return Plan(
        date=request.date,
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        totals=plan_totals(request, routes, unassigned),
        solver=SolverInfo(
            method="solve",
            seed=seed,
            time_limit_s=time_limit_s,
            max_iterations=max_iterations,
            iterations=iterations,
            runtime_s=round(runtime, 3),
        ),
    )
