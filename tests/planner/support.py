"""Builders for planner tests, and `planned()`: solve, then assert the independent checker
finds nothing wrong. Every plan a planner test makes goes through `assert_sound`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from scheduler.planner.checker import check_plan
from scheduler.planner.model import (
    Break,
    GeoPoint,
    Nurse,
    Plan,
    PlanRequest,
    SpeedTravel,
    TravelMatrix,
    Visit,
    Weights,
    clock,
)
from scheduler.planner.solver import solve

DAY = dt.date(2025, 3, 12)
CLINIC = GeoPoint(-5.158, 119.446)
ITERATIONS = 300  # enough for these tiny days; iterations (not seconds) keep runs deterministic


def t(text: str) -> int:
    return clock(text)


def nurse(
    nurse_id: str = "A",
    shift: tuple[str, str] = ("07:30", "15:00"),
    skills: Sequence[str] = ("general",),
    max_visits: int | None = None,
    rest: tuple[int, str, str] | None = None,
) -> Nurse:
    return Nurse(
        id=nurse_id,
        shift=(t(shift[0]), t(shift[1])),
        skills=frozenset(skills),
        max_visits=max_visits,
        break_=None if rest is None else Break(rest[0], (t(rest[1]), t(rest[2]))),
    )


def visit(
    visit_id: str,
    *,
    north_m: float = 0.0,
    east_m: float = 0.0,
    duration_min: int = 30,
    window: tuple[str, str] = ("08:00", "14:00"),
    skills: Sequence[str] = ("general",),
    urgent: bool = False,
    optional: bool = False,
    preferred: str | None = None,
) -> Visit:
    """A visit `north_m`/`east_m` metres from the clinic (great-circle, near the equator)."""
    return Visit(
        id=visit_id,
        lat=CLINIC.lat + north_m / 111_320.0,
        lon=CLINIC.lon + east_m / 110_850.0,
        duration_s=duration_min * 60,
        window=(t(window[0]), t(window[1])),
        skills=frozenset(skills),
        priority="urgent" if urgent else "routine",
        optional=optional,
        preferred_nurse=preferred,
    )


def request(
    nurses: Sequence[Nurse],
    visits: Sequence[Visit],
    *,
    weights: Weights | None = None,
    matrix: TravelMatrix | None = None,
    now: str | None = None,
) -> PlanRequest:
    return PlanRequest(
        date=DAY,
        depot=CLINIC,
        nurses=tuple(nurses),
        visits=tuple(visits),
        travel=matrix if matrix is not None else SpeedTravel(20.0, 1.3),
        weights=weights if weights is not None else Weights(),
        now=None if now is None else t(now),
    )


def matrix(
    durations: Sequence[Sequence[int]], distances: Sequence[Sequence[int]] | None = None
) -> TravelMatrix:
    rows = tuple(tuple(row) for row in durations)
    return TravelMatrix(
        durations_s=rows,
        distances_m=rows if distances is None else tuple(tuple(r) for r in distances),
    )


def assert_sound(req: PlanRequest, plan: Plan, travel: TravelMatrix | None = None) -> Plan:
    violations = check_plan(req, plan, travel)
    assert violations == [], "\n".join(str(v) for v in violations)
    return plan


def planned(req: PlanRequest, travel: TravelMatrix | None = None, **options: Any) -> Plan:
    options.setdefault("time_limit_s", None)
    options.setdefault("max_iterations", ITERATIONS)
    options.setdefault("seed", 1)
    return assert_sound(req, solve(req, travel, **options), travel)


def route_of(plan: Plan, nurse_id: str) -> list[str]:
    """The visit ids of a nurse's route, in order (breaks left out)."""
    route = next(r for r in plan.routes if r.nurse == nurse_id)
    return [str(s.visit) for s in route.stops if s.kind == "visit"]


def nurse_of(plan: Plan, visit_id: str) -> str | None:
    for route in plan.routes:
        if any(s.visit == visit_id for s in route.stops):
            return str(route.nurse)
    return None


def reason_of(plan: Plan, visit_id: str) -> str | None:
    return next((u.reason for u in plan.unassigned if u.visit == visit_id), None)
