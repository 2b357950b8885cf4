"""JSON ↔ planner data: `parse_plan_request` validates a request; plans round-trip.

Validation lives here (not in the CLI) so the database side gets the same messages. Every
problem is reported as `PlanRequestError(field, message)`, where `field` is a path such as
`visits[3].window`. The contract is documented in docs/planning.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

from scheduler.planner.model import (
    DAY_S,
    REASONS,
    Break,
    FixedStop,
    GeoPoint,
    Id,
    Nurse,
    Plan,
    PlanRequest,
    Route,
    SolverInfo,
    SpeedTravel,
    Stop,
    Totals,
    TravelMatrix,
    Unassigned,
    Visit,
    Weights,
    clock,
    format_clock,
)

# Size limits keep one request's memory bounded (the solver holds one matrix pair per nurse).
MAX_NURSES = 40
MAX_VISITS = 400
MAX_WEIGHT = 1000.0
MAX_CONTINUITY = float(DAY_S)

T = TypeVar("T")


class PlanRequestError(ValueError):
    """A request that cannot be planned; `field` names where, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _fail(field: str, message: str) -> PlanRequestError:
    return PlanRequestError(field, message)


def _object(value: object, field: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(field or "request", "must be a JSON object")
    obj = cast(Mapping[str, Any], value)
    for key in obj:
        if key not in allowed:
            raise _fail(_join(field, key), "unknown field")
    for key in sorted(required):
        if key not in obj:
            raise _fail(_join(field, key), "is required")
    return dict(obj)


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _list(value: object, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise _fail(field, "must be a list")
    return value


def _number(value: object, field: str, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(field, "must be a number")
    if not low <= value <= high:
        raise _fail(field, f"must be between {low:g} and {high:g}")
    return float(value)


def _int(value: object, field: str, *, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, "must be an integer")
    if value < low or (high is not None and value > high):
        bound = f"at least {low}" if high is None else f"between {low} and {high}"
        raise _fail(field, f"must be {bound}")
    return value


def _id(value: object, field: str) -> Id:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _fail(field, "must be a string or an integer")
    if isinstance(value, str) and not value.strip():
        raise _fail(field, "must not be empty")
    return value


def _time(value: object, field: str) -> int:
    if not isinstance(value, str):
        raise _fail(field, 'must be a time "HH:MM" or "HH:MM:SS"')
    try:
        return clock(value)
    except ValueError as exc:
        raise _fail(field, str(exc)) from None


def _interval(value: object, field: str) -> tuple[int, int]:
    items = _list(value, field)
    if len(items) != 2:
        raise _fail(field, "must be [start, end]")
    start = _time(items[0], f"{field}[0]")
    end = _time(items[1], f"{field}[1]")
    if end < start:
        raise _fail(field, "end before start")
    return start, end


def _skills(value: object, field: str) -> frozenset[str]:
    items = _list(value, field)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise _fail(f"{field}[{i}]", "must be a non-empty string")
    return frozenset(items)


def _unique(items: list[T], key: Callable[[T], Id], field: str) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        # 7 and "7" are the same id to a person reading the plan: refuse both.
        text = str(key(item))
        if text in seen:
            raise _fail(f"{field}[{i}].id", f"duplicate id {key(item)!r}")
        seen.add(text)


def _travel(value: object, visits: int) -> SpeedTravel | TravelMatrix:
    obj = _object(
        value,
        "travel",
        {"speed_kmh", "road_factor", "osrm_url", "durations_s", "distances_m"},
        set(),
    )
    matrix_keys = {"durations_s", "distances_m"} & obj.keys()
    if matrix_keys:
        if len(matrix_keys) == 1:
            missing = ({"durations_s", "distances_m"} - matrix_keys).pop()
            raise _fail(f"travel.{missing}", "is required with an explicit matrix")
        for key in ("speed_kmh", "road_factor", "osrm_url"):
            if key in obj:
                raise _fail(f"travel.{key}", "cannot be combined with an explicit matrix")
        return TravelMatrix(
            durations_s=_matrix(obj["durations_s"], "travel.durations_s", visits + 1),
            distances_m=_matrix(obj["distances_m"], "travel.distances_m", visits + 1),
        )
    default = SpeedTravel()
    speed = default.speed_kmh
    if "speed_kmh" in obj:
        speed = _number(obj["speed_kmh"], "travel.speed_kmh", low=1.0, high=200.0)
    road_factor = default.road_factor
    if "road_factor" in obj:
        road_factor = _number(obj["road_factor"], "travel.road_factor", low=1.0, high=5.0)
    osrm_url = obj.get("osrm_url")
    if osrm_url is not None and not (
        isinstance(osrm_url, str) and osrm_url.startswith(("http://", "https://"))
    ):
        raise _fail("travel.osrm_url", "must be an http:// or https:// URL")
    return SpeedTravel(speed_kmh=speed, road_factor=road_factor, osrm_url=osrm_url)


def _matrix(value: object, field: str, size: int) -> tuple[tuple[int, ...], ...]:
    rows = _list(value, field)
    if len(rows) != size:
        raise _fail(field, f"must have {size} rows (clinic + {size - 1} visits), got {len(rows)}")
    out = []
    for i, row in enumerate(rows):
        cells = _list(row, f"{field}[{i}]")
        if len(cells) != size:
            raise _fail(f"{field}[{i}]", f"must have {size} entries, got {len(cells)}")
        for j, cell in enumerate(cells):
            _int(cell, f"{field}[{i}][{j}]", low=0, high=10**9)
        if cells[i] != 0:
            raise _fail(f"{field}[{i}][{i}]", "must be 0 (a place to itself)")
        out.append(tuple(cells))
    return tuple(out)


def _break(value: object, field: str, shift: tuple[int, int]) -> Break:
    obj = _object(value, field, {"duration_s", "window"}, {"duration_s", "window"})
    duration = _int(obj["duration_s"], f"{field}.duration_s", low=1, high=DAY_S)
    window = _interval(obj["window"], f"{field}.window")
    if window[1] - window[0] < duration:
        raise _fail(f"{field}.window", "shorter than the break")
    if window[0] < shift[0] or window[1] > shift[1]:
        raise _fail(f"{field}.window", "must lie inside the shift")
    return Break(duration_s=duration, window=window)


def _fixed(value: object, field: str, durations: Mapping[str, int]) -> tuple[FixedStop, ...]:
    stops: list[FixedStop] = []
    previous_end = 0
    for i, item in enumerate(_list(value, field)):
        where = f"{field}[{i}]"
        obj = _object(item, where, {"visit", "break", "arrive", "start", "end"}, {"start"})
        is_break = obj.get("break", False)
        if not isinstance(is_break, bool):
            raise _fail(f"{where}.break", "must be true or false")
        visit = obj.get("visit")
        if is_break == (visit is not None):
            raise _fail(where, 'needs exactly one of "visit" or "break": true')
        start = _time(obj["start"], f"{where}.start")
        arrive = _time(obj["arrive"], f"{where}.arrive") if "arrive" in obj else start
        if visit is not None:
            visit = _id(visit, f"{where}.visit")
            if str(visit) not in durations:
                raise _fail(f"{where}.visit", f"unknown visit {visit!r}")
        if "end" in obj:
            end = _time(obj["end"], f"{where}.end")
        elif visit is not None:
            end = start + durations[str(visit)]
        else:
            raise _fail(f"{where}.end", "is required for a break")
        if not previous_end <= arrive <= start <= end:
            raise _fail(where, "times must run arrive ≤ start ≤ end, after the previous stop")
        previous_end = end
        stops.append(FixedStop(visit=visit, arrive=arrive, start=start, end=end))
    return tuple(stops)


def _nurse(value: object, field: str, durations: Mapping[str, int]) -> Nurse:
    keys = {"id", "shift", "skills", "max_visits", "break", "fixed"}
    obj = _object(value, field, keys, {"id", "shift"})
    nurse_id = _id(obj["id"], f"{field}.id")
    shift = _interval(obj["shift"], f"{field}.shift")
    if shift[1] == shift[0]:
        raise _fail(f"{field}.shift", "is empty")
    skills = _skills(obj.get("skills", []), f"{field}.skills")
    max_visits = obj.get("max_visits")
    if max_visits is not None:
        max_visits = _int(max_visits, f"{field}.max_visits", low=0, high=MAX_VISITS)
    brk = None if obj.get("break") is None else _break(obj["break"], f"{field}.break", shift)
    fixed = _fixed(obj.get("fixed", []), f"{field}.fixed", durations)
    if sum(1 for stop in fixed if stop.visit is None) > 1:
        raise _fail(f"{field}.fixed", "has more than one break")
    if brk is None and any(stop.visit is None for stop in fixed):
        raise _fail(f"{field}.fixed", "has a break but the nurse has none")
    if max_visits is not None and sum(1 for s in fixed if s.visit is not None) > max_visits:
        raise _fail(f"{field}.fixed", "has more visits than max_visits")
    return Nurse(
        id=nurse_id,
        shift=shift,
        skills=skills,
        max_visits=max_visits,
        break_=brk,
        fixed=fixed,
    )


def _visit(value: object, field: str) -> Visit:
    keys = {
        "id",
        "lat",
        "lon",
        "duration_s",
        "window",
        "skills",
        "priority",
        "optional",
        "preferred_nurse",
    }
    obj = _object(value, field, keys, {"id", "lat", "lon", "duration_s", "window"})
    priority = obj.get("priority", "routine")
    if priority not in ("urgent", "routine"):
        raise _fail(f"{field}.priority", 'must be "urgent" or "routine"')
    optional = obj.get("optional", False)
    if not isinstance(optional, bool):
        raise _fail(f"{field}.optional", "must be true or false")
    if optional and priority == "urgent":
        raise _fail(f"{field}.optional", "an urgent visit cannot be optional")
    preferred = obj.get("preferred_nurse")
    return Visit(
        id=_id(obj["id"], f"{field}.id"),
        lat=_number(obj["lat"], f"{field}.lat", low=-90.0, high=90.0),
        lon=_number(obj["lon"], f"{field}.lon", low=-180.0, high=180.0),
        duration_s=_int(obj["duration_s"], f"{field}.duration_s", low=0, high=DAY_S),
        window=_interval(obj["window"], f"{field}.window"),
        skills=_skills(obj.get("skills", []), f"{field}.skills"),
        priority=priority,
        optional=optional,
        preferred_nurse=None if preferred is None else _id(preferred, f"{field}.preferred_nurse"),
    )


def _weights(value: object) -> Weights:
    default = Weights()
    obj = _object(value, "weights", {"travel", "balance", "continuity"}, set())
    return Weights(
        travel=_number(obj.get("travel", default.travel), "weights.travel", low=0, high=MAX_WEIGHT),
        balance=_number(
            obj.get("balance", default.balance), "weights.balance", low=0, high=MAX_WEIGHT
        ),
        continuity=_number(
            obj.get("continuity", default.continuity),
            "weights.continuity",
            low=0,
            high=MAX_CONTINUITY,
        ),
    )


def parse_plan_request(obj: object) -> PlanRequest:
    """Validate a decoded JSON request and build a `PlanRequest`.

    Raises `PlanRequestError(field, message)` naming the first bad field.
    """
    keys = {"date", "depot", "travel", "nurses", "visits", "weights", "now"}
    root = _object(obj, "", keys, {"date", "depot", "nurses", "visits"})
    if not isinstance(root["date"], str):
        raise _fail("date", 'must be a date "YYYY-MM-DD"')
    try:
        date = dt.date.fromisoformat(root["date"])
    except ValueError:
        raise _fail("date", 'must be a date "YYYY-MM-DD"') from None
    depot_obj = _object(root["depot"], "depot", {"lat", "lon"}, {"lat", "lon"})
    depot = GeoPoint(
        lat=_number(depot_obj["lat"], "depot.lat", low=-90.0, high=90.0),
        lon=_number(depot_obj["lon"], "depot.lon", low=-180.0, high=180.0),
    )

    visit_items = _list(root["visits"], "visits")
    if len(visit_items) > MAX_VISITS:
        raise _fail("visits", f"at most {MAX_VISITS} visits per request")
    visits = [_visit(item, f"visits[{i}]") for i, item in enumerate(visit_items)]
    _unique(visits, lambda v: v.id, "visits")
    durations = {str(v.id): v.duration_s for v in visits}

    nurse_items = _list(root["nurses"], "nurses")
    if len(nurse_items) > MAX_NURSES:
        raise _fail("nurses", f"at most {MAX_NURSES} nurses per request")
    nurses = [_nurse(item, f"nurses[{i}]", durations) for i, item in enumerate(nurse_items)]
    _unique(nurses, lambda n: n.id, "nurses")

    now = None if root.get("now") is None else _time(root["now"], "now")
    fixed_seen: set[str] = set()
    for i, nurse in enumerate(nurses):
        if nurse.fixed and now is None:
            raise _fail(f"nurses[{i}].fixed", 'needs "now" (the time the plan is changed)')
        for j, stop in enumerate(nurse.fixed):
            if stop.visit is None:
                continue
            if str(stop.visit) in fixed_seen:
                raise _fail(f"nurses[{i}].fixed[{j}].visit", "already fixed for another nurse")
            fixed_seen.add(str(stop.visit))

    travel: SpeedTravel | TravelMatrix = SpeedTravel()
    if root.get("travel") is not None:
        travel = _travel(root["travel"], len(visits))
    weights = Weights() if root.get("weights") is None else _weights(root["weights"])
    return PlanRequest(
        date=date,
        depot=depot,
        nurses=tuple(nurses),
        visits=tuple(visits),
        travel=travel,
        weights=weights,
        now=now,
    )


def _interval_json(interval: tuple[int, int]) -> list[str]:
    return [format_clock(interval[0]), format_clock(interval[1])]


def request_to_json(request: PlanRequest) -> dict[str, Any]:
    """The JSON form of a request; `parse_plan_request` reads it back unchanged."""
    travel: dict[str, Any]
    if isinstance(request.travel, TravelMatrix):
        travel = {
            "durations_s": [list(row) for row in request.travel.durations_s],
            "distances_m": [list(row) for row in request.travel.distances_m],
        }
    else:
        travel = {"speed_kmh": request.travel.speed_kmh, "road_factor": request.travel.road_factor}
        if request.travel.osrm_url:
            travel["osrm_url"] = request.travel.osrm_url
    nurses = []
    for nurse in request.nurses:
        item: dict[str, Any] = {
            "id": nurse.id,
            "shift": _interval_json(nurse.shift),
            "skills": sorted(nurse.skills),
            "max_visits": nurse.max_visits,
        }
        if nurse.break_ is not None:
            item["break"] = {
                "duration_s": nurse.break_.duration_s,
                "window": _interval_json(nurse.break_.window),
            }
        if nurse.fixed:
            item["fixed"] = [
                {
                    **({"visit": s.visit} if s.visit is not None else {"break": True}),
                    "arrive": format_clock(s.arrive),
                    "start": format_clock(s.start),
                    "end": format_clock(s.end),
                }
                for s in nurse.fixed
            ]
        nurses.append(item)
    out: dict[str, Any] = {
        "date": request.date.isoformat(),
        "depot": {"lat": request.depot.lat, "lon": request.depot.lon},
        "travel": travel,
        "nurses": nurses,
        "visits": [
            {
                "id": v.id,
                "lat": v.lat,
                "lon": v.lon,
                "duration_s": v.duration_s,
                "window": _interval_json(v.window),
                "skills": sorted(v.skills),
                "priority": v.priority,
                "optional": v.optional,
                "preferred_nurse": v.preferred_nurse,
            }
            for v in request.visits
        ],
        "weights": {
            "travel": request.weights.travel,
            "balance": request.weights.balance,
            "continuity": request.weights.continuity,
        },
    }
    if request.now is not None:
        out["now"] = format_clock(request.now)
    return out


def _clock_or_none(value: int | None) -> str | None:
    return None if value is None else format_clock(value)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The JSON form of a plan (times as "HH:MM:SS"); see docs/planning.md."""
    return {
        "date": plan.date.isoformat(),
        "routes": [
            {
                "nurse": route.nurse,
                "leave": _clock_or_none(route.leave),
                "back": _clock_or_none(route.back),
                "stops": [
                    {
                        "kind": stop.kind,
                        "visit": stop.visit,
                        "arrive": format_clock(stop.arrive),
                        "start": format_clock(stop.start),
                        "end": format_clock(stop.end),
                        "fixed": stop.fixed,
                    }
                    for stop in route.stops
                ],
                "travel_s": route.travel_s,
                "distance_m": route.distance_m,
                "duration_s": route.duration_s,
                "fair_share_s": route.fair_share_s,
            }
            for route in plan.routes
        ],
        "unassigned": [{"visit": u.visit, "reason": u.reason} for u in plan.unassigned],
        "totals": {
            "visits": plan.totals.visits,
            "assigned": plan.totals.assigned,
            "unassigned": plan.totals.unassigned,
            "urgent_unassigned": plan.totals.urgent_unassigned,
            "travel_s": plan.totals.travel_s,
            "distance_m": plan.totals.distance_m,
            "balance_excess_s": plan.totals.balance_excess_s,
            "continuity_misses": plan.totals.continuity_misses,
            "nurses_used": plan.totals.nurses_used,
            "objective": plan.totals.objective,
        },
        "solver": {
            "method": plan.solver.method,
            "seed": plan.solver.seed,
            "time_limit_s": plan.solver.time_limit_s,
            "max_iterations": plan.solver.max_iterations,
            "iterations": plan.solver.iterations,
            "runtime_s": plan.solver.runtime_s,
        },
    }


def plan_from_json(obj: Mapping[str, Any]) -> Plan:
    """Read back what `plan_to_json` wrote (trusted input: raises KeyError/ValueError if not)."""

    def opt_clock(value: str | None) -> int | None:
        return None if value is None else clock(value)

    totals = obj["totals"]
    solver = obj.get("solver") or {}
    for item in obj["unassigned"]:
        if item["reason"] not in REASONS:
            raise ValueError(f"unknown reason {item['reason']!r}")
    return Plan(
        date=dt.date.fromisoformat(obj["date"]),
        routes=tuple(
            Route(
                nurse=route["nurse"],
                leave=opt_clock(route["leave"]),
                back=opt_clock(route["back"]),
                stops=tuple(
                    Stop(
                        visit=stop["visit"],
                        arrive=clock(stop["arrive"]),
                        start=clock(stop["start"]),
                        end=clock(stop["end"]),
                        kind=stop.get("kind", "visit"),
                        fixed=bool(stop.get("fixed", False)),
                    )
                    for stop in route["stops"]
                ),
                travel_s=int(route["travel_s"]),
                distance_m=int(route["distance_m"]),
                fair_share_s=int(route.get("fair_share_s", 0)),
            )
            for route in obj["routes"]
        ),
        unassigned=tuple(
            Unassigned(visit=u["visit"], reason=u["reason"]) for u in obj["unassigned"]
        ),
        totals=Totals(
            visits=int(totals["visits"]),
            assigned=int(totals["assigned"]),
            unassigned=int(totals["unassigned"]),
            urgent_unassigned=int(totals["urgent_unassigned"]),
            travel_s=int(totals["travel_s"]),
            distance_m=int(totals["distance_m"]),
            balance_excess_s=int(totals["balance_excess_s"]),
            continuity_misses=int(totals["continuity_misses"]),
            nurses_used=int(totals["nurses_used"]),
            objective=float(totals["objective"]),
        ),
        solver=SolverInfo(
            method=solver.get("method", "solve"),
            seed=int(solver.get("seed", 0)),
            time_limit_s=solver.get("time_limit_s"),
            max_iterations=solver.get("max_iterations"),
            iterations=int(solver.get("iterations", 0)),
            runtime_s=float(solver.get("runtime_s", 0.0)),
        ),
    )
