"""An independent feasibility check of a plan against its request.

Written from the contract in docs/planning.md, not from the solver: it shares only the data
classes and the travel matrix (an input). Every plan the tests produce goes through it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from scheduler.planner.model import (
    REASONS,
    Id,
    Nurse,
    Plan,
    PlanRequest,
    Route,
    Stop,
    TravelMatrix,
    Visit,
    format_clock,
)
from scheduler.planner.travel import travel_matrix


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    nurse: Id | None = None
    visit: Id | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class _Check:
    def __init__(self, request: PlanRequest, plan: Plan, matrix: TravelMatrix) -> None:
        self.request = request
        self.plan = plan
        self.durations = matrix.durations_s
        self.distances = matrix.distances_m
        self.visits = {str(v.id): v for v in request.visits}
        self.place = {str(v.id): i + 1 for i, v in enumerate(request.visits)}
        self.found: list[Violation] = []

    def flag(
        self, code: str, message: str, nurse: Id | None = None, visit: Id | None = None
    ) -> None:
        self.found.append(Violation(code, message, nurse, visit))

    def location(self, stop: Stop) -> int:
        return 0 if stop.visit is None else self.place.get(str(stop.visit), 0)

    def run(self) -> list[Violation]:
        nurses = {str(n.id): n for n in self.request.nurses}
        seen_nurses: set[str] = set()
        for route in self.plan.routes:
            key = str(route.nurse)
            if key not in nurses:
                self.flag("unknown_nurse", f"route for unknown nurse {route.nurse!r}", route.nurse)
                continue
            if key in seen_nurses:
                self.flag("duplicate_route", f"nurse {route.nurse!r} has two routes", route.nurse)
            seen_nurses.add(key)
            self.route(nurses[key], route)
        self.accounting()
        self.totals()
        return self.found

    # -- every visit exactly once ----------------------------------------------------------

    def accounting(self) -> None:
        where: dict[str, str] = {}
        entries = [
            (stop.visit, f"route of {route.nurse!r}")
            for route in self.plan.routes
            for stop in route.stops
            if stop.visit is not None
        ]
        entries += [(u.visit, "unassigned") for u in self.plan.unassigned]
        for visit_id, place in entries:
            key = str(visit_id)
            if key not in self.visits:
                self.flag("unknown_visit", f"{visit_id!r} is not in the request", visit=visit_id)
            elif key in where:
                self.flag(
                    "visit_twice",
                    f"{visit_id!r} is in the {where[key]} and the {place}",
                    visit=visit_id,
                )
            where[key] = place
        for key, visit in self.visits.items():
            if key not in where:
                self.flag(
                    "visit_missing",
                    f"{visit.id!r} is neither routed nor unassigned",
                    visit=visit.id,
                )
        for u in self.plan.unassigned:
            if u.reason not in REASONS:
                self.flag("bad_reason", f"unknown reason {u.reason!r}", visit=u.visit)

    def totals(self) -> None:
        totals = self.plan.totals
        routed = sum(1 for r in self.plan.routes for s in r.stops if s.kind == "visit")
        expected = {
            "travel_s": sum(r.travel_s for r in self.plan.routes),
            "distance_m": sum(r.distance_m for r in self.plan.routes),
            "assigned": routed,
            "unassigned": len(self.plan.unassigned),
            "visits": len(self.request.visits),
        }
        for name, value in expected.items():
            if getattr(totals, name) != value:
                self.flag("plan_totals", f"totals.{name} is {getattr(totals, name)}, not {value}")

    # -- one route -------------------------------------------------------------------------

    def route(self, nurse: Nurse, route: Route) -> None:
        if not route.stops:
            if (
                route.leave is not None
                or route.back is not None
                or route.travel_s
                or route.distance_m
            ):
                self.flag("route_totals", "a route without stops has times or travel", nurse.id)
            return
        if route.leave is None or route.back is None:
            self.flag("shift_start", "a route with stops needs leave and back times", nurse.id)
            return
        self.fixed_prefix(nurse, route)
        self.skills_and_cap(nurse, route)
        self.times(nurse, route)
        self.break_rule(nurse, route)
        path = [0, *(self.location(s) for s in route.stops), 0]
        travel = sum(self.durations[a][b] for a, b in itertools.pairwise(path))
        distance = sum(self.distances[a][b] for a, b in itertools.pairwise(path))
        if (route.travel_s, route.distance_m) != (travel, distance):
            self.flag(
                "route_totals",
                f"travel_s/distance_m are {route.travel_s}/{route.distance_m}, "
                f"the matrix says {travel}/{distance}",
                nurse.id,
            )

    def fixed_prefix(self, nurse: Nurse, route: Route) -> None:
        pinned = [s for s in route.stops if s.fixed]
        if route.stops[: len(pinned)] != tuple(pinned):
            self.flag("fixed_moved", "fixed stops are not the start of the route", nurse.id)
        expected = [(f.visit, f.kind, f.arrive, f.start, f.end) for f in nurse.fixed]
        actual = [(s.visit, s.kind, s.arrive, s.start, s.end) for s in pinned]
        if [(str(e[0]), *e[1:]) for e in expected] != [(str(a[0]), *a[1:]) for a in actual]:
            self.flag("fixed_moved", "fixed stops differ from the request's", nurse.id)

    def skills_and_cap(self, nurse: Nurse, route: Route) -> None:
        count = 0
        for stop in route.stops:
            if stop.kind != "visit" or stop.visit is None:
                continue
            count += 1
            visit = self.visits.get(str(stop.visit))
            if visit is None or stop.fixed:
                continue
            missing = visit.skills - nurse.skills
            if missing:
                self.flag(
                    "skills",
                    f"{visit.id!r} needs {sorted(missing)} which {nurse.id!r} lacks",
                    nurse.id,
                    visit.id,
                )
        if nurse.max_visits is not None and count > nurse.max_visits:
            self.flag("max_visits", f"{count} visits, cap is {nurse.max_visits}", nurse.id)

    def departure(self, route: Route, index: int) -> tuple[int, int]:
        """(time the nurse sets off towards stop `index` — or the clinic at the end, place)."""
        assert route.leave is not None
        if index == 0:
            return route.leave, 0
        previous = route.stops[index - 1]
        leave = previous.end
        if previous.fixed and self.request.now is not None:
            leave = max(leave, self.request.now)  # she is not sent on before `now`
        return leave, self.location(previous)

    def times(self, nurse: Nurse, route: Route) -> None:
        assert route.leave is not None and route.back is not None
        now = self.request.now
        has_planned = any(not s.fixed for s in route.stops)
        if not route.stops[0].fixed:
            if route.leave < nurse.shift[0]:
                self.flag(
                    "shift_start",
                    f"leaves at {format_clock(route.leave)}, before the shift",
                    nurse.id,
                )
            if now is not None and route.leave < now:
                self.flag(
                    "before_now", f"leaves at {format_clock(route.leave)}, before now", nurse.id
                )
        for i, stop in enumerate(route.stops):
            if not stop.arrive <= stop.start <= stop.end:
                self.flag(
                    "arrive_after_start",
                    f"stop {i} runs arrive/start/end out of order",
                    nurse.id,
                    stop.visit,
                )
            if stop.fixed:
                continue
            leave, here = self.departure(route, i)
            there = self.location(stop)
            if stop.arrive != leave + self.durations[here][there]:
                self.flag(
                    "travel_time",
                    f"stop {i} arrives at {format_clock(stop.arrive)}, not "
                    f"{format_clock(leave + self.durations[here][there])}",
                    nurse.id,
                    stop.visit,
                )
            if now is not None and leave < now:
                self.flag("before_now", f"stop {i} is set off for before now", nurse.id, stop.visit)
            if stop.kind == "visit":
                self.visit_times(nurse, stop)
        leave, here = self.departure(route, len(route.stops))
        if route.back != leave + self.durations[here][0]:
            self.flag(
                "travel_time",
                f"back at {format_clock(route.back)} does not follow the last stop",
                nurse.id,
            )
        if has_planned and route.back > nurse.shift[1]:
            self.flag("shift_end", f"back at {format_clock(route.back)}, after the shift", nurse.id)

    def visit_times(self, nurse: Nurse, stop: Stop) -> None:
        visit: Visit | None = self.visits.get(str(stop.visit))
        if visit is None:
            return
        if not visit.window[0] <= stop.start <= visit.window[1]:
            self.flag(
                "window",
                f"{visit.id!r} starts at {format_clock(stop.start)}, outside "
                f"{format_clock(visit.window[0])}-{format_clock(visit.window[1])}",
                nurse.id,
                visit.id,
            )
        if stop.end - stop.start != visit.duration_s:
            self.flag(
                "service_duration",
                f"{visit.id!r} lasts {stop.end - stop.start} s",
                nurse.id,
                visit.id,
            )

    def break_rule(self, nurse: Nurse, route: Route) -> None:
        breaks = [s for s in route.stops if s.kind == "break"]
        rest = nurse.break_
        if rest is None:
            if breaks:
                self.flag("break_extra", "a break for a nurse without one", nurse.id)
            return
        if len(breaks) > 1:
            self.flag("break_extra", "more than one break", nurse.id)
        for stop in breaks:
            if stop.visit is not None:
                self.flag("break_extra", "a break stop names a visit", nurse.id)
            if stop.fixed:
                continue
            if stop.start < rest.window[0] or stop.end > rest.window[1]:
                self.flag(
                    "break_window",
                    f"break at {format_clock(stop.start)} is outside its window",
                    nurse.id,
                )
            if stop.end - stop.start != rest.duration_s:
                self.flag("break_window", f"break lasts {stop.end - stop.start} s", nurse.id)
        if breaks or not any(s.kind == "visit" for s in route.stops):
            return
        if not self._break_out_of_reach(nurse, route):
            self.flag("break_missing", "the route has visits but no break", nurse.id)

    def _break_out_of_reach(self, nurse: Nurse, route: Route) -> bool:
        """A re-plan may find the break window already beyond reach at `now`."""
        now = self.request.now
        rest = nurse.break_
        if now is None or rest is None:
            return False
        pinned = [s for s in route.stops if s.fixed]
        if pinned:
            here, free = self.location(pinned[-1]), max(pinned[-1].end, now)
        else:
            here, free = 0, max(nurse.shift[0], now)
        earliest = max(rest.window[0], free + self.durations[here][0])
        return earliest + rest.duration_s > rest.window[1]


def check_plan(
    request: PlanRequest, plan: Plan, matrix: TravelMatrix | None = None
) -> list[Violation]:
    """Every way `plan` breaks the rules of `request` (an empty list for a sound plan).

    `matrix` is the travel matrix the plan was made with; by default the request's own
    (explicit, or estimated from coordinates).
    """
    return _Check(request, plan, matrix if matrix is not None else travel_matrix(request)).run()
