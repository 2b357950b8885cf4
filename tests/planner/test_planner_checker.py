"""The independent checker catches each kind of broken plan (and passes a sound one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from scheduler.planner.checker import check_plan
from scheduler.planner.model import Break, FixedStop, Plan, PlanRequest, Stop, Unassigned
from tests.planner.support import nurse, planned, request, t, visit


def sound() -> tuple[PlanRequest, Plan]:
    req = request(
        [
            nurse(
                "A", skills=["general", "wound_care"], max_visits=4, rest=(1800, "11:30", "13:30")
            ),
            nurse("B", max_visits=4),
        ],
        [
            visit("w1", east_m=900, skills=["wound_care"], window=("08:00", "10:00")),
            visit("w2", east_m=1300, skills=["wound_care"], window=("09:00", "14:00")),
            visit("g1", north_m=800, window=("08:00", "12:00")),
            visit("g2", north_m=1400, window=("09:00", "14:00")),
            visit("g3", north_m=-600, window=("10:00", "14:00")),
            visit("far", east_m=40_000, window=("08:00", "08:30")),  # unreachable
        ],
    )
    return req, planned(req)


Mutation = Callable[[PlanRequest, Plan], tuple[PlanRequest, Plan]]


def on_route(
    nurse_id: str, change: Callable[[list[Stop]], list[Stop]], **route_fields: object
) -> Mutation:
    def mutate(req: PlanRequest, plan: Plan) -> tuple[PlanRequest, Plan]:
        routes = []
        for route in plan.routes:
            if route.nurse == nurse_id:
                route = replace(route, stops=tuple(change(list(route.stops))), **route_fields)  # type: ignore[arg-type]
            routes.append(route)
        return req, replace(plan, routes=tuple(routes))

    return mutate


def on_nurse(nurse_id: str, **fields: object) -> Mutation:
    def mutate(req: PlanRequest, plan: Plan) -> tuple[PlanRequest, Plan]:
        nurses = tuple(replace(n, **fields) if n.id == nurse_id else n for n in req.nurses)  # type: ignore[arg-type]
        return replace(req, nurses=nurses), plan

    return mutate


def shifted(index: int, seconds: int, kind: str = "visit") -> Callable[[list[Stop]], list[Stop]]:
    """Move the index-th stop of `kind` (all its times) by `seconds`."""

    def change(stops: list[Stop]) -> list[Stop]:
        positions = [i for i, s in enumerate(stops) if s.kind == kind]
        i = positions[index]
        s = stops[i]
        stops[i] = replace(
            s, arrive=s.arrive + seconds, start=s.start + seconds, end=s.end + seconds
        )
        return stops

    return change


def without(kind: str) -> Callable[[list[Stop]], list[Stop]]:
    return lambda stops: [s for s in stops if s.kind != kind]


def with_unassigned(*extra: Unassigned) -> Mutation:
    return lambda req, plan: (req, replace(plan, unassigned=(*plan.unassigned, *extra)))


def first_visit(plan: Plan, nurse_id: str) -> Stop:
    route = next(r for r in plan.routes if r.nurse == nurse_id)
    return next(s for s in route.stops if s.kind == "visit")


def pinned_wrongly(req: PlanRequest, plan: Plan) -> tuple[PlanRequest, Plan]:
    stop = first_visit(plan, "A")
    fixed = (FixedStop(stop.visit, stop.arrive, stop.start + 60, stop.end + 60),)
    nurses = tuple(replace(n, fixed=fixed) if n.id == "A" else n for n in req.nurses)
    return replace(req, nurses=nurses, now=stop.end + 60), plan


CASES: list[tuple[str, Mutation, str]] = [
    ("start outside window", on_route("A", shifted(0, 4 * 3600)), "window"),
    ("arrival not previous end + travel", on_route("A", shifted(0, -60)), "travel_time"),
    ("route totals off", on_route("A", lambda s: s, travel_s=1), "route_totals"),
    ("visit neither routed nor unassigned", on_route("B", lambda s: s[1:]), "visit_missing"),
    ("visit routed and unassigned", with_unassigned(Unassigned("g1", "capacity")), "visit_twice"),
    ("unknown visit", with_unassigned(Unassigned("ghost", "capacity")), "unknown_visit"),
    (
        "unknown reason",
        lambda r, p: (r, replace(p, unassigned=(Unassigned("far", "tired"),))),
        "bad_reason",
    ),
    ("nurse lacks the skill", on_nurse("A", skills=frozenset({"general"})), "skills"),
    ("over the cap", on_nurse("A", max_visits=1), "max_visits"),
    ("leaves before the shift", on_nurse("A", shift=(t("10:00"), t("15:00"))), "shift_start"),
    ("back after the shift", on_nurse("A", shift=(t("07:30"), t("11:00"))), "shift_end"),
    ("break missing", on_route("A", without("break")), "break_missing"),
    (
        "break outside its window",
        on_nurse("A", break_=Break(1800, (t("14:00"), t("15:00")))),
        "break_window",
    ),
    ("break for a nurse without one", on_nurse("A", break_=None), "break_extra"),
    (
        "service too short",
        on_route("A", lambda s: [replace(s[0], end=s[0].end - 60), *s[1:]]),
        "service_duration",
    ),
    (
        "arrive after start",
        on_route("A", lambda s: [replace(s[0], arrive=s[0].start + 1), *s[1:]]),
        "arrive_after_start",
    ),
    ("fixed stop moved", pinned_wrongly, "fixed_moved"),
    ("planned before now", lambda r, p: (replace(r, now=t("12:00")), p), "before_now"),
    (
        "route for an unknown nurse",
        lambda r, p: (replace(r, nurses=r.nurses[:1]), p),
        "unknown_nurse",
    ),
    (
        "two routes for a nurse",
        lambda r, p: (r, replace(p, routes=(*p.routes, p.routes[0]))),
        "duplicate_route",
    ),
    (
        "totals off",
        lambda r, p: (r, replace(p, totals=replace(p.totals, travel_s=1))),
        "plan_totals",
    ),
]


def test_sound_plan_has_no_violations() -> None:
    req, plan = sound()
    assert check_plan(req, plan) == []
    assert plan.unassigned == (Unassigned("far", "window_unreachable"),)
    assert {r.nurse: r.visit_count for r in plan.routes}["A"] >= 2  # the wound-care visits


@pytest.mark.parametrize(
    ("mutate", "code"), [(m, c) for _, m, c in CASES], ids=[n for n, _, _ in CASES]
)
def test_checker_catches(mutate: Mutation, code: str) -> None:
    req, plan = mutate(*sound())
    codes = {v.code for v in check_plan(req, plan)}
    assert code in codes, codes
