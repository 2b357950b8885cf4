"""Sharing routing profiles between alike nurses (scheduler/planner/profiles.py), and plans
built with shared profiles still passing the independent checker."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pytest

from scheduler.planner.crews import crews_for, fair_shares, triage
from scheduler.planner.model import PlanRequest, Visit, Weights
from scheduler.planner.profiles import ProfileKey, break_classes, group_profiles, profile_key
from scheduler.planner.solver import _build_model
from scheduler.planner.travel import travel_matrix
from tests.planner.support import nurse, planned, request, route_of, visit


@pytest.mark.parametrize(
    ("keys", "profile_of", "first"),
    [
        ([], [], []),
        (["a"], [0], [0]),
        (["a", "a", "a"], [0, 0, 0], [0]),
        (["a", "b", "c"], [0, 1, 2], [0, 1, 2]),
        (["a", "a", "b", "a", "c", "b"], [0, 0, 1, 0, 2, 1], [0, 2, 4]),
        (["b", "a", "b"], [0, 1, 0], [0, 1]),  # numbered in order of first use, not sorted
        (
            [ProfileKey(frozenset({1}), frozenset()), ProfileKey(frozenset({1}), frozenset())],
            [0, 0],
            [0],
        ),
        (
            [ProfileKey(frozenset({1}), frozenset()), ProfileKey(frozenset({1}), frozenset({2}))],
            [0, 1],
            [0, 1],
        ),
    ],
)
def test_group_profiles(keys: Sequence[Hashable], profile_of: list[int], first: list[int]) -> None:
    assert group_profiles(keys) == (profile_of, first)


def _v(visit_id: str, preferred: str | None = None) -> Visit:
    return visit(visit_id, preferred=preferred)


# Candidates as triage gives them: (visit, crew indices able to do it); where: id → column.
CANDIDATES: list[tuple[Visit, list[int]]] = [
    (_v("p"), [0, 1, 2]),
    (_v("q", preferred="A"), [0, 1]),
    (_v("r", preferred="B"), [1, 2]),
    (_v("s", preferred="Z"), [0, 1, 2]),  # prefers a nurse not on duty: no one's lift
]
WHERE = {"p": 1, "q": 2, "r": 3, "s": 4}


@pytest.mark.parametrize(
    ("crew", "nurse_id", "continuity", "forbidden", "preferred"),
    [
        (0, "A", True, {3}, {2}),
        (1, "B", True, set(), {3}),
        (2, "C", True, {2}, set()),
        (0, "A", False, {3}, set()),  # continuity off: no preferred columns at all
        (1, "B", False, set(), set()),
        (3, "D", True, {1, 2, 3, 4}, set()),  # able to do nothing
    ],
)
def test_profile_key(
    crew: int, nurse_id: str, continuity: bool, forbidden: set[int], preferred: set[int]
) -> None:
    key = profile_key(crew, nurse_id, CANDIDATES, WHERE, continuity=continuity)
    assert key == ProfileKey(frozenset(forbidden), frozenset(preferred))


@pytest.mark.parametrize(
    ("items", "classes", "count"),
    [
        ([], [], 0),
        ([None, None], [None, None], 0),
        (["x", "x", "x"], [0, 0, 0], 1),
        ([None, "x", "x", "y", None, "y"], [None, 0, 0, 1, None, 1], 2),
        (["y", "x"], [0, 1], 2),
    ],
)
def test_break_classes(items: list[Hashable | None], classes: list[int | None], count: int) -> None:
    assert break_classes(items) == (classes, count)


REST = (1800, "11:30", "13:30")


def _alike_day(weights: Weights) -> PlanRequest:
    nurses = [
        nurse("A", rest=REST),
        nurse("B", rest=REST),
        nurse("C", rest=REST),
        nurse("W", skills=("general", "wound_care"), rest=REST),
        nurse("X", skills=("general", "wound_care"), rest=(1800, "12:00", "13:30")),
        nurse("P", shift=("08:00", "12:00")),
    ]
    visits = [
        visit(f"g{i}", north_m=300 * (i % 4) - 450, east_m=250 * (i // 4) - 600) for i in range(14)
    ]
    # Two wound-care visits at the same early time, far apart: both W and X go out.
    visits += [
        visit(
            f"w{i}",
            north_m=-900 + 1800 * i,
            east_m=900,
            skills=("wound_care",),
            window=("08:00", "08:10"),
        )
        for i in range(2)
    ]
    visits += [visit("w2", east_m=-300, skills=("wound_care",))]
    visits.append(visit("late", east_m=-800, window=("13:00", "14:30")))
    visits.append(visit("pref", north_m=700, preferred="B"))
    return request(nurses, visits, weights=weights)


def _profiles(req: PlanRequest) -> int:
    matrix = travel_matrix(req)
    durations = np.asarray(matrix.durations_s, dtype=np.int64)
    where = {str(v.id): i + 1 for i, v in enumerate(req.visits)}
    crews = crews_for(req, matrix.durations_s, where)
    candidates, _ = triage(req, crews, matrix.durations_s, where)
    shares = fair_shares(crews, candidates, durations, where)
    model = _build_model(req, crews, candidates, durations, where, shares)
    return int(model.data.num_profiles)


@pytest.mark.parametrize(
    ("weights", "profiles"),
    [
        # A, B, C alike; W and X alike despite different breaks; P cannot reach "late".
        (Weights(travel=1.0, balance=0.0, continuity=0.0), 3),
        # Continuity on: B (preferred for "pref") gets her own profile.
        (Weights(), 4),
    ],
)
def test_shared_profiles_plan_passes_the_checker(weights: Weights, profiles: int) -> None:
    req = _alike_day(weights)
    assert _profiles(req) == profiles
    plan = planned(req)  # asserts the independent checker finds nothing
    assert plan.totals.unassigned == 0
    # Every nurse called in takes exactly one break, her own (the checker checks its window).
    breaks = {str(r.nurse): sum(s.kind == "break" for s in r.stops) for r in plan.routes if r.stops}
    assert breaks == {n: int(n != "P") for n in breaks}
    assert {"W", "X"} <= set(breaks)
    wound = {v for n in ("W", "X") for v in route_of(plan, n) if v.startswith("w")}
    assert wound == {"w0", "w1", "w2"}
    assert "late" not in route_of(plan, "P")
