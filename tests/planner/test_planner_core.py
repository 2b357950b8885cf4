"""Table tests for the planning core: each rule of the model, on days small enough to reason
about by hand. Every plan passes through the independent checker (`planned`)."""

from __future__ import annotations

import itertools
import random

import pytest

from scheduler.planner.model import (
    CAPACITY,
    NO_NURSE_WITH_SKILLS,
    OPTIONAL_DEFERRED,
    WINDOW_UNREACHABLE,
    TravelMatrix,
    Weights,
)
from tests.planner.support import (
    matrix,
    nurse,
    nurse_of,
    planned,
    reason_of,
    request,
    route_of,
    t,
    visit,
)

NO_BALANCE = Weights(travel=1.0, balance=0.0, continuity=600.0)
TRAVEL_ONLY = Weights(travel=1.0, balance=0.0, continuity=0.0)


@pytest.mark.parametrize(
    ("skills", "expected_nurse", "expected_reason"),
    [
        ((), "A", None),  # anyone may go; continuity picks the preferred nurse
        (("general",), "A", None),
        (("wound_care",), "B", None),  # preferred A lacks the skill: B, despite continuity
        (("general", "wound_care"), "B", None),
        (("maternal",), None, NO_NURSE_WITH_SKILLS),
        (("wound_care", "maternal"), None, NO_NURSE_WITH_SKILLS),
    ],
)
def test_skills_forbid_assignment(
    skills: tuple[str, ...], expected_nurse: str | None, expected_reason: str | None
) -> None:
    req = request(
        [nurse("A", skills=["general"]), nurse("B", skills=["general", "wound_care"])],
        [visit("v", east_m=800, skills=skills, preferred="A")],
    )
    plan = planned(req)
    assert nurse_of(plan, "v") == expected_nurse
    assert reason_of(plan, "v") == expected_reason


def test_skills_hold_under_pressure() -> None:
    """Many wound-care visits, one nurse able: none leaks to the other nurse."""
    wound = [
        visit(f"w{i}", east_m=300 * i, skills=["wound_care"], duration_min=45) for i in range(8)
    ]
    general = [visit(f"g{i}", north_m=300 * i) for i in range(4)]
    req = request(
        [nurse("A", skills=["general"]), nurse("B", skills=["general", "wound_care"])],
        wound + general,
    )
    plan = planned(req)
    assert all(nurse_of(plan, v.id) in ("B", None) for v in wound)  # type: ignore[arg-type]
    assert all(reason_of(plan, v.id) in (None, CAPACITY) for v in wound)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("windows", "expected_order", "expected_starts"),
    [
        # west visit must be early, east one late: west first, east waits for its window
        ((("08:30", "08:45"), ("10:00", "10:15")), ["west", "east"], ["08:30:00", "10:00:00"]),
        ((("10:00", "10:15"), ("08:30", "08:45")), ["east", "west"], ["08:30:00", "10:00:00"]),
        # a window that closes as the first one ends forces the order
        ((("08:00", "14:00"), ("08:00", "08:00")), ["east", "west"], ["08:00:00", None]),
    ],
)
def test_windows_bound_the_start_of_service(
    windows: tuple[tuple[str, str], tuple[str, str]],
    expected_order: list[str],
    expected_starts: list[str | None],
) -> None:
    req = request(
        [nurse("A", shift=("07:30", "15:00"))],
        [
            visit("west", east_m=-1000, window=windows[0]),
            visit("east", east_m=1000, window=windows[1]),
        ],
        weights=NO_BALANCE,
    )
    plan = planned(req)
    assert route_of(plan, "A") == expected_order
    route = plan.routes[0]
    for stop, expected in zip(route.stops, expected_starts, strict=True):
        if expected is not None:
            assert stop.start == t(expected)


@pytest.mark.parametrize(
    ("shift", "window", "east_m", "expected_reason"),
    [
        (("07:30", "15:00"), ("07:00", "07:10"), 1000, WINDOW_UNREACHABLE),  # before the shift
        (("07:30", "15:00"), ("07:00", "07:50"), 5000, None),  # 19.5 min away: starts 07:49:30
        (("07:30", "15:00"), ("07:00", "07:45"), 5000, WINDOW_UNREACHABLE),  # too far to be on time
        (("07:30", "15:00"), ("14:50", "15:00"), 1000, WINDOW_UNREACHABLE),  # cannot get back
        (("07:30", "15:00"), ("14:00", "14:20"), 1000, None),
    ],
)
def test_window_and_shift_reachability(
    shift: tuple[str, str], window: tuple[str, str], east_m: int, expected_reason: str | None
) -> None:
    req = request([nurse("A", shift=shift)], [visit("v", east_m=east_m, window=window)])
    plan = planned(req)
    assert reason_of(plan, "v") == expected_reason
    if expected_reason is None:
        assert route_of(plan, "A") == ["v"]


@pytest.mark.parametrize(
    ("shifts", "window", "expected_nurse"),
    [
        ((("07:30", "10:00"), ("12:00", "15:00")), ("08:00", "09:00"), "A"),
        ((("07:30", "10:00"), ("12:00", "15:00")), ("13:00", "14:00"), "B"),
        ((("07:30", "10:00"), ("12:00", "15:00")), ("10:30", "11:30"), None),
        ((("08:00", "09:00"), ("08:00", "09:00")), ("08:00", "14:00"), "A"),
    ],
)
def test_shifts_bound_the_routes(
    shifts: tuple[tuple[str, str], tuple[str, str]],
    window: tuple[str, str],
    expected_nurse: str | None,
) -> None:
    req = request(
        [nurse("A", shift=shifts[0]), nurse("B", shift=shifts[1])],
        [visit("v", east_m=1000, window=window, preferred="A")],
    )
    plan = planned(req)
    assert nurse_of(plan, "v") == expected_nurse
    for route in plan.routes:
        if route.stops:
            shift = shifts[0] if route.nurse == "A" else shifts[1]
            assert t(shift[0]) <= route.leave and route.back <= t(shift[1])  # type: ignore[operator]


def test_long_visit_does_not_fit_short_shift() -> None:
    req = request(
        [nurse("A", shift=("08:00", "09:00"))], [visit("v", east_m=500, duration_min=120)]
    )
    assert reason_of(planned(req), "v") == WINDOW_UNREACHABLE


@pytest.mark.parametrize(("cap", "expected_assigned"), [(0, 0), (1, 1), (2, 2), (3, 3), (None, 3)])
def test_max_visits_caps_a_route(cap: int | None, expected_assigned: int) -> None:
    req = request(
        [nurse("A", max_visits=cap)],
        [visit(f"v{i}", east_m=400 * (i + 1)) for i in range(3)],
    )
    plan = planned(req)
    assert plan.totals.assigned == expected_assigned
    assert [u.reason for u in plan.unassigned] == [CAPACITY] * (3 - expected_assigned)


@pytest.mark.parametrize(
    ("nurses", "visits", "kept", "dropped"),
    [
        # the visit cap is short: the urgent far one beats the routine near one
        (
            [nurse("A", max_visits=1)],
            [visit("near", east_m=100), visit("far", east_m=3000, urgent=True)],
            ["far"],
            ["near"],
        ),
        # same, listed the other way round
        (
            [nurse("A", max_visits=1)],
            [visit("far", east_m=3000, urgent=True), visit("near", east_m=100)],
            ["far"],
            ["near"],
        ),
        # time is short: two 2-hour visits, room for one
        (
            [nurse("A", shift=("08:00", "10:30"))],
            [
                visit("near", east_m=100, duration_min=120),
                visit("far", east_m=2000, duration_min=120, urgent=True),
            ],
            ["far"],
            ["near"],
        ),
        # one urgent outweighs two routine visits
        (
            [nurse("A", shift=("08:00", "10:45"))],
            [
                visit("r1", east_m=100, duration_min=60),
                visit("r2", east_m=200, duration_min=60),
                visit("u", east_m=3000, duration_min=120, urgent=True),
            ],
            ["u"],
            ["r1", "r2"],
        ),
    ],
)
def test_urgent_before_routine_when_capacity_is_short(
    nurses: list, visits: list, kept: list[str], dropped: list[str]
) -> None:
    plan = planned(request(nurses, visits, weights=NO_BALANCE))
    assert sorted(route_of(plan, "A")) == sorted(kept)
    assert {u.visit: u.reason for u in plan.unassigned} == {v: CAPACITY for v in dropped}
    assert plan.totals.urgent_unassigned == 0


@pytest.mark.parametrize(
    ("cap", "visits", "expected"),
    [
        (
            1,
            [visit("opt", east_m=100, optional=True), visit("rout", east_m=2500)],
            {"opt": OPTIONAL_DEFERRED},
        ),
        (
            1,
            [visit("opt", east_m=100, optional=True), visit("urg", east_m=2500, urgent=True)],
            {"opt": OPTIONAL_DEFERRED},
        ),
        (2, [visit("opt", east_m=100, optional=True), visit("rout", east_m=2500)], {}),
        (0, [visit("opt", east_m=100, optional=True)], {"opt": CAPACITY}),
    ],
)
def test_optional_visit_deferred_with_reason(
    cap: int, visits: list, expected: dict[str, str]
) -> None:
    plan = planned(request([nurse("A", max_visits=cap)], visits))
    assert {u.visit: u.reason for u in plan.unassigned} == expected


@pytest.mark.parametrize(
    ("preferred", "continuity", "expected"),
    [("A", 600.0, "A"), ("B", 600.0, "B"), ("B", 60.0, "B")],
)
def test_continuity_prefers_the_preferred_nurse(
    preferred: str, continuity: float, expected: str
) -> None:
    req = request(
        [nurse("A"), nurse("B")],
        [visit("v", east_m=700, preferred=preferred)],
        weights=Weights(travel=1.0, balance=1.0, continuity=continuity),
    )
    plan = planned(req)
    assert nurse_of(plan, "v") == expected
    assert plan.totals.continuity_misses == 0


def test_continuity_accepts_a_small_detour() -> None:
    """B is slightly farther (one extra visit in her area) but preferred by both patients."""
    req = request(
        [nurse("A"), nurse("B")],
        [
            visit("x", east_m=1000, preferred="B"),
            visit("y", east_m=1100, preferred="B"),
            visit("z", north_m=1200, preferred="A"),
        ],
        weights=NO_BALANCE,
    )
    plan = planned(req)
    assert sorted(route_of(plan, "B")) == ["x", "y"]
    assert route_of(plan, "A") == ["z"]


def test_continuity_cost_in_objective() -> None:
    """Only A can do the visit; preferring B costs one continuity miss in the objective."""
    req = request(
        [nurse("A", skills=["general", "wound_care"]), nurse("B", skills=["general"])],
        [visit("v", east_m=1000, skills=["wound_care"], preferred="B")],
        weights=Weights(travel=1.0, balance=0.0, continuity=500.0),
    )
    plan = planned(req)
    assert plan.totals.continuity_misses == 1
    assert plan.totals.objective == plan.totals.travel_s + 500.0


@pytest.mark.parametrize(("balance", "expected_split"), [(0.0, [0, 6]), (1.0, [3, 3])])
def test_balance_spreads_load(balance: float, expected_split: list[int]) -> None:
    cluster = [visit(f"v{i}", east_m=1000 + 100 * i, duration_min=45) for i in range(6)]
    req = request(
        [nurse("A"), nurse("B")],
        cluster,
        weights=Weights(travel=1.0, balance=balance, continuity=0.0),
    )
    plan = planned(req)
    assert sorted(r.visit_count for r in plan.routes) == expected_split
    if balance:
        assert plan.totals.balance_excess_s <= max(r.fair_share_s for r in plan.routes) // 4


def test_nobody_idle_while_another_is_overloaded() -> None:
    visits = [
        visit(f"v{i}", east_m=200 * i, north_m=150 * (i % 3), duration_min=40) for i in range(9)
    ]
    plan = planned(request([nurse("A"), nurse("B"), nurse("C")], visits))
    counts = sorted(r.visit_count for r in plan.routes)
    assert counts[0] >= 2 and counts[-1] - counts[0] <= 2


@pytest.mark.parametrize(
    ("rest", "visits"),
    [
        ((1800, "11:30", "13:30"), 6),
        ((1800, "12:00", "12:30"), 6),  # the window is exactly the break
        ((3600, "09:00", "14:00"), 3),
    ],
)
def test_break_is_planned_at_the_clinic(rest: tuple[int, str, str], visits: int) -> None:
    req = request(
        [nurse("A", shift=("07:30", "15:00"), rest=rest)],
        [visit(f"v{i}", east_m=600 * (i + 1), duration_min=40) for i in range(visits)],
    )
    plan = planned(req)
    route = plan.routes[0]
    breaks = [s for s in route.stops if s.kind == "break"]
    assert len(breaks) == 1
    duration, early, late = rest
    assert breaks[0].end - breaks[0].start == duration
    assert t(early) <= breaks[0].start and breaks[0].end <= t(late)
    assert route.visit_count == visits


def test_idle_nurse_is_not_called_in_for_a_break() -> None:
    req = request(
        [nurse("A", rest=(1800, "11:30", "13:30")), nurse("B", rest=(1800, "11:30", "13:30"))],
        [visit("v", east_m=500, preferred="A")],
        weights=NO_BALANCE,
    )
    plan = planned(req)
    by_nurse = {r.nurse: r for r in plan.routes}
    assert [s.kind for s in by_nurse["A"].stops] in (["visit", "break"], ["break", "visit"])
    assert by_nurse["B"].stops == () and by_nurse["B"].leave is None


def test_break_window_squeezes_visits() -> None:
    """A visit whose window covers the whole break window cannot overlap the break."""
    req = request(
        [nurse("A", shift=("11:00", "14:00"), rest=(1800, "12:00", "12:30"))],
        [visit("v", east_m=300, duration_min=60, window=("11:45", "12:10"))],
    )
    plan = planned(req)
    assert reason_of(plan, "v") == WINDOW_UNREACHABLE


# --- the objective is total travel when balance and continuity are off --------------------


def _brute_force_travel(
    durations: list[list[int]],
    services: list[int],
    windows: list[tuple[int, int]],
    shifts: list[tuple[int, int]],
) -> int:
    """Least total travel serving every visit, by trying every assignment and order."""
    n = len(services)
    best: int | None = None
    for owners in itertools.product(range(len(shifts)), repeat=n):
        total = 0
        for k, (start, end) in enumerate(shifts):
            mine = [i for i in range(n) if owners[i] == k]
            cheapest: int | None = None
            for order in itertools.permutations(mine):
                here, clock_s, travel, ok = 0, start, 0, True
                for i in order:
                    leg = durations[here][i + 1]
                    travel += leg
                    clock_s = max(clock_s + leg, windows[i][0])
                    if clock_s > windows[i][1]:
                        ok = False
                        break
                    clock_s += services[i]
                    here = i + 1
                travel += durations[here][0]
                if ok and clock_s + durations[here][0] <= end:
                    cheapest = travel if cheapest is None else min(cheapest, travel)
            if cheapest is None:
                break
            total += cheapest
        else:
            best = total if best is None else min(best, total)
    assert best is not None, "the test day must allow serving every visit"
    return best


@pytest.mark.parametrize(("seed", "nurses"), [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2)])
def test_objective_is_total_travel_and_optimal(seed: int, nurses: int) -> None:
    rng = random.Random(seed)
    n = 5
    points = [(rng.uniform(-3000, 3000), rng.uniform(-3000, 3000)) for _ in range(n + 1)]
    points[0] = (0.0, 0.0)
    # asymmetric, integer seconds (one way streets): a slower return on some legs
    durations = [
        [
            0
            if i == j
            else round(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5 / 5) + rng.randrange(0, 60)
            for j, b in enumerate(points)
        ]
        for i, a in enumerate(points)
    ]
    distances = [[d * 5 for d in row] for row in durations]
    services = [rng.choice([900, 1200, 1800]) for _ in range(n)]
    windows = []
    for _ in range(n):
        if rng.random() < 0.4:
            start = rng.randrange(t("08:00"), t("11:00"), 900)
            windows.append((start, start + 3600))
        else:
            windows.append((t("08:00"), t("13:00")))
    shifts = [(t("07:30"), t("14:00"))] * nurses
    travel = matrix(durations, distances)
    req = request(
        [nurse(f"N{k}", shift=("07:30", "14:00")) for k in range(nurses)],
        [visit(f"v{i}", window=("00:00", "00:00"), duration_min=0) for i in range(n)],
        weights=TRAVEL_ONLY,
        matrix=travel,
    )
    req = _with_times(req, services, windows)
    plan = planned(req, travel, max_iterations=1000)
    optimum = _brute_force_travel(durations, services, windows, shifts)
    assert plan.unassigned == ()
    assert plan.totals.travel_s == optimum
    assert plan.totals.objective == optimum
    assert plan.totals.distance_m == optimum * 5


def _with_times(req, services, windows):  # type: ignore[no-untyped-def]
    from dataclasses import replace

    visits = tuple(
        replace(v, duration_s=s, window=w)
        for v, s, w in zip(req.visits, services, windows, strict=True)
    )
    return replace(req, visits=visits)


def test_explicit_matrix_is_used_as_given() -> None:
    """A matrix that contradicts the coordinates wins: the 'far' visit is next door."""
    durations = [[0, 600, 60], [600, 0, 600], [60, 600, 0]]
    travel: TravelMatrix = matrix(durations)
    req = request(
        [nurse("A", max_visits=1)],
        [visit("near", east_m=10), visit("far", east_m=5000)],
        weights=TRAVEL_ONLY,
        matrix=travel,
    )
    plan = planned(req, travel)
    assert route_of(plan, "A") == ["far"]
    assert plan.totals.travel_s == 120
