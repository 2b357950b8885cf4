"""Re-planning a day under way: pinned stops stay, nothing new starts before `now`, and an
urgent visit is slotted in cheaply or, when it does not fit, by a re-solve."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from scheduler.planner.model import (
    CAPACITY,
    WINDOW_PASSED,
    Plan,
    PlanRequest,
    Route,
    Stop,
    Weights,
)
from scheduler.planner.replan import insert_visit, pin_request, pinned_stops, replan
from tests.planner.support import (
    ITERATIONS,
    assert_sound,
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

SEARCH: dict[str, Any] = {"time_limit_s": None, "max_iterations": ITERATIONS, "seed": 1}


def day() -> PlanRequest:
    return request(
        [nurse("A", rest=(1800, "11:30", "13:30")), nurse("B", shift=("07:30", "14:00"))],
        [
            visit("a1", east_m=800, window=("08:00", "09:00")),
            visit("a2", east_m=1500, window=("09:00", "11:00"), duration_min=45),
            visit("a3", east_m=900, north_m=600, window=("12:00", "14:00")),
            visit("b1", north_m=-900, window=("08:00", "09:30")),
            visit("b2", north_m=-1600, east_m=-300, window=("09:30", "12:00"), duration_min=60),
            visit("b3", north_m=-700, east_m=-700, window=("10:00", "14:00")),
        ],
    )


def started(plan: Plan, now: int) -> dict[str, tuple[str, int, int]]:
    """Visits that started by `now`: visit → (nurse, start, end)."""
    return {
        str(s.visit): (str(r.nurse), s.start, s.end)
        for r in plan.routes
        for s in r.stops
        if s.visit is not None and s.start <= now
    }


@pytest.mark.parametrize("now", ["07:00", "08:10", "09:40", "11:00", "12:30", "14:30"])
def test_replan_keeps_started_stops(now: str) -> None:
    req = day()
    plan = planned(req)
    again = replan(req, plan, t(now), **SEARCH)
    assert_sound(pin_request(req, plan, t(now)), again)
    before, after = started(plan, t(now)), started(again, t(now))
    assert after == before  # same nurse, same times for everything already started
    for route in again.routes:
        for stop in route.stops:
            if not stop.fixed:
                assert stop.start >= t(now)


def test_late_replan_reports_passed_windows() -> None:
    req = day()
    plan = planned(req)
    # drop everything from the old plan: nothing has been done, and it is now 10:00
    idle = replace(
        plan, routes=tuple(replace(r, leave=None, back=None, stops=()) for r in plan.routes)
    )
    again = replan(req, idle, t("10:00"), **SEARCH)
    assert_sound(pin_request(req, idle, t("10:00")), again)
    assert reason_of(again, "a1") == WINDOW_PASSED
    assert reason_of(again, "b1") == WINDOW_PASSED
    assert reason_of(again, "a2") is None and reason_of(again, "b3") is None


ROUTE = Route(
    nurse="A",
    leave=t("08:00"),
    back=t("10:00"),
    stops=(
        Stop("s1", arrive=t("08:10"), start=t("08:30"), end=t("09:00")),
        Stop("s2", arrive=t("09:10"), start=t("09:10"), end=t("09:40")),
    ),
    travel_s=1800,
    distance_m=9000,
)
DURATIONS = [[0, 600, 600], [600, 0, 600], [600, 600, 0]]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("07:59", []),
        ("08:00", ["s1"]),  # she has set off for s1
        ("08:45", ["s1"]),
        ("08:59", ["s1"]),
        ("09:00", ["s1", "s2"]),  # s1 done, on her way to s2
        ("11:00", ["s1", "s2"]),
    ],
)
def test_pinned_stops_are_started_or_on_the_way(now: str, expected: list[str]) -> None:
    pinned = pinned_stops(ROUTE, t(now), DURATIONS, {"s1": 1, "s2": 2})
    assert [s.visit for s in pinned] == expected


def test_pinned_stops_skip_cancelled_visits() -> None:
    assert [s.visit for s in pinned_stops(ROUTE, t("11:00"), DURATIONS, {"s2": 2})] == ["s2"]


def test_break_taken_is_not_planned_again() -> None:
    req = day()
    plan = planned(req)
    rest = next(s for s in plan.routes[0].stops if s.kind == "break")
    now = rest.start + 60
    again = replan(req, plan, now, **SEARCH)
    assert_sound(pin_request(req, plan, now), again)
    breaks = [s for s in again.routes[0].stops if s.kind == "break"]
    assert len(breaks) == 1 and breaks[0].fixed and breaks[0].start == rest.start


def test_break_out_of_reach_is_left_out() -> None:
    req = request(
        [nurse("A", rest=(1800, "09:00", "10:00"))],
        [visit("v", east_m=500, window=("09:00", "14:00"))],
        now="09:45",
    )
    plan = planned(req)
    assert [s.kind for s in plan.routes[0].stops] == ["visit"]
    assert plan.routes[0].stops[0].start >= t("09:45")


def test_nothing_starts_before_now() -> None:
    req = request(
        [nurse("A"), nurse("B")], [visit(f"v{i}", east_m=300 * i) for i in range(5)], now="11:00"
    )
    plan = planned(req)
    assert plan.totals.assigned == 5
    assert all(r.leave is None or r.leave >= t("11:00") for r in plan.routes)


# --- inserting an urgent visit ----------------------------------------------------------------


def light_day() -> PlanRequest:
    return request(
        [nurse("A"), nurse("B")],
        [
            visit("a1", east_m=800, window=("08:00", "10:00")),
            visit("a2", east_m=1200, window=("10:00", "13:00")),
            visit("b1", north_m=-900, window=("08:00", "10:00")),
            visit("b2", north_m=-1400, window=("10:00", "13:00")),
        ],
        weights=Weights(balance=0.0),
    )


def test_insert_urgent_visit_cheaply() -> None:
    req = light_day()
    plan = planned(req)
    urgent = visit("u", east_m=1000, north_m=200, window=("09:30", "12:00"), urgent=True)
    now = t("09:15")
    after = insert_visit(req, plan, urgent, now, **SEARCH)
    extended = replace(req, visits=(*req.visits, urgent))
    assert_sound(pin_request(extended, plan, now), after)
    assert after.solver.method == "insertion"
    assert nurse_of(after, "u") is not None
    for route in plan.routes:  # everybody else keeps nurse and order
        assert [v for v in route_of(after, str(route.nurse)) if v != "u"] == route_of(
            plan, str(route.nurse)
        )
    assert after.totals.travel_s >= plan.totals.travel_s


def test_insert_urgent_displaces_routine_when_full() -> None:
    req = request(
        [nurse("A", max_visits=2)],
        [visit("r1", east_m=500), visit("r2", east_m=700)],
    )
    plan = planned(req)
    urgent = visit("u", north_m=900, window=("10:00", "13:00"), urgent=True)
    after = insert_visit(req, plan, urgent, t("08:00"), **SEARCH)
    extended = replace(req, visits=(*req.visits, urgent))
    assert_sound(pin_request(extended, plan, t("08:00")), after)
    assert after.solver.method == "solve"
    assert nurse_of(after, "u") == "A"
    assert sorted(u.reason for u in after.unassigned) == [CAPACITY]


def test_insert_into_explicit_matrix_day() -> None:
    durations = [[0, 300, 400], [300, 0, 200], [400, 200, 0]]
    req = request([nurse("A")], [visit("x"), visit("y")], matrix=matrix(durations))
    plan = planned(req, req.travel)  # type: ignore[arg-type]
    urgent = visit("u", urgent=True)
    with pytest.raises(ValueError, match="needs the matrix"):
        insert_visit(req, plan, urgent, t("09:00"), **SEARCH)
    bigger = matrix([[*row, 250] for row in durations] + [[250, 100, 100, 0]])
    after = insert_visit(req, plan, urgent, t("09:00"), bigger, **SEARCH)
    extended = replace(req, visits=(*req.visits, urgent), travel=bigger)
    assert_sound(pin_request(extended, plan, t("09:00"), bigger), after, bigger)
    assert after.totals.assigned == 3


def test_insert_refuses_a_duplicate_id() -> None:
    req = light_day()
    with pytest.raises(ValueError, match="already in the request"):
        insert_visit(req, planned(req), visit("a1"), t("09:00"), **SEARCH)
