"""The JSON contract: a bad request names its field; requests and plans round-trip."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from scheduler.planner.io import (
    MAX_VISITS,
    PlanRequestError,
    parse_plan_request,
    plan_from_json,
    plan_to_json,
    request_to_json,
)
from scheduler.planner.model import SpeedTravel, TravelMatrix, clock, format_clock
from tests.planner.support import assert_sound, planned


def base() -> dict[str, Any]:
    return {
        "date": "2025-03-12",
        "depot": {"lat": -5.158, "lon": 119.446},
        "travel": {"speed_kmh": 20, "road_factor": 1.3},
        "nurses": [
            {
                "id": "ani",
                "shift": ["07:30", "15:00"],
                "skills": ["general", "wound_care"],
                "max_visits": 8,
                "break": {"duration_s": 1800, "window": ["11:30", "13:30"]},
            },
            {"id": 7, "shift": ["07:30:00", "12:00:00"], "skills": ["general"]},
        ],
        "visits": [
            {
                "id": f"v{i}",
                "lat": -5.158 + 0.004 * i,
                "lon": 119.446 - 0.003 * i,
                "duration_s": 1800,
                "window": ["08:00", "14:00"],
                "skills": ["general"],
                "priority": "urgent" if i == 0 else "routine",
                "optional": i == 3,
                "preferred_nurse": "ani" if i == 1 else None,
            }
            for i in range(4)
        ],
        "weights": {"travel": 1, "balance": 0.5, "continuity": 300},
    }


def set_path(obj: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def delete_path(obj: Any, path: list[Any]) -> None:
    for key in path[:-1]:
        obj = obj[key]
    del obj[path[-1]]


Edit = Callable[[dict[str, Any]], Any]


def setting(path: list[Any], value: Any) -> Edit:
    return lambda obj: set_path(obj, path, value)


def deleting(path: list[Any]) -> Edit:
    return lambda obj: delete_path(obj, path)


def steps(*edits: Edit) -> Edit:
    def run(obj: dict[str, Any]) -> None:
        for edit in edits:
            edit(obj)

    return run


def replacing(new: dict[str, Any]) -> Edit:
    def run(obj: dict[str, Any]) -> None:
        obj.clear()
        obj.update(new)

    return run


def matrix_of(n: int, fill: int = 60) -> list[list[int]]:
    return [[0 if i == j else fill for j in range(n)] for i in range(n)]


BAD: list[tuple[str, Edit, str]] = [
    ("unknown top-level field", replacing({"x": 1}), "x: unknown field"),
    ("no date", deleting(["date"]), "date: is required"),
    ("impossible date", setting(["date"], "2025-02-30"), 'date: must be a date "YYYY-MM-DD"'),
    ("date not a string", setting(["date"], 20250312), 'date: must be a date "YYYY-MM-DD"'),
    ("depot latitude", setting(["depot", "lat"], 100), "depot.lat: must be between -90 and 90"),
    ("depot missing lon", deleting(["depot", "lon"]), "depot.lon: is required"),
    (
        "window end before start",
        setting(["visits", 3, "window"], ["10:00", "09:00"]),
        "visits[3].window: end before start",
    ),
    (
        "window malformed time",
        setting(["visits", 0, "window"], ["8:00", "09:00"]),
        "visits[0].window[0]: expected HH:MM or HH:MM:SS, got '8:00'",
    ),
    (
        "window past midnight",
        setting(["visits", 0, "window"], ["08:00", "24:30"]),
        "visits[0].window[1]: not a time of day: '24:30'",
    ),
    (
        "window of three",
        setting(["visits", 2, "window"], ["08:00", "09:00", "10:00"]),
        "visits[2].window: must be [start, end]",
    ),
    ("duplicate visit id", setting(["visits", 1, "id"], "v0"), "visits[1].id: duplicate id 'v0'"),
    ("id 7 and '7' clash", setting(["nurses", 0, "id"], "7"), "nurses[1].id: duplicate id 7"),
    (
        "boolean id",
        setting(["visits", 0, "id"], True),
        "visits[0].id: must be a string or an integer",
    ),
    ("empty id", setting(["visits", 0, "id"], " "), "visits[0].id: must not be empty"),
    (
        "unknown priority",
        setting(["visits", 1, "priority"], "high"),
        'visits[1].priority: must be "urgent" or "routine"',
    ),
    (
        "negative duration",
        setting(["visits", 2, "duration_s"], -5),
        "visits[2].duration_s: must be between 0 and 86400",
    ),
    (
        "fractional duration",
        setting(["visits", 2, "duration_s"], 12.5),
        "visits[2].duration_s: must be an integer",
    ),
    (
        "optional not bool",
        setting(["visits", 1, "optional"], "yes"),
        "visits[1].optional: must be true or false",
    ),
    (
        "urgent and optional",
        setting(["visits", 0, "optional"], True),
        "visits[0].optional: an urgent visit cannot be optional",
    ),
    (
        "unknown visit field",
        setting(["visits", 0, "colour"], "red"),
        "visits[0].colour: unknown field",
    ),
    (
        "skills not a list",
        setting(["visits", 0, "skills"], "general"),
        "visits[0].skills: must be a list",
    ),
    (
        "empty skill",
        setting(["visits", 0, "skills"], [""]),
        "visits[0].skills[0]: must be a non-empty string",
    ),
    ("latitude text", setting(["visits", 1, "lat"], "-5.1"), "visits[1].lat: must be a number"),
    ("latitude bool", setting(["visits", 1, "lat"], True), "visits[1].lat: must be a number"),
    ("missing lon", deleting(["visits", 2, "lon"]), "visits[2].lon: is required"),
    ("visits not a list", setting(["visits"], {}), "visits: must be a list"),
    (
        "shift backwards",
        setting(["nurses", 0, "shift"], ["15:00", "07:30"]),
        "nurses[0].shift: end before start",
    ),
    (
        "shift empty",
        setting(["nurses", 1, "shift"], ["08:00", "08:00"]),
        "nurses[1].shift: is empty",
    ),
    (
        "cap negative",
        setting(["nurses", 0, "max_visits"], -1),
        "nurses[0].max_visits: must be between 0 and 400",
    ),
    (
        "break outside shift",
        setting(["nurses", 0, "break", "window"], ["06:00", "08:00"]),
        "nurses[0].break.window: must lie inside the shift",
    ),
    (
        "break window too short",
        setting(["nurses", 0, "break", "window"], ["12:00", "12:15"]),
        "nurses[0].break.window: shorter than the break",
    ),
    (
        "break without duration",
        deleting(["nurses", 0, "break", "duration_s"]),
        "nurses[0].break.duration_s: is required",
    ),
    ("nurse without shift", deleting(["nurses", 1, "shift"]), "nurses[1].shift: is required"),
    (
        "matrix wrong size",
        setting(["travel"], {"durations_s": matrix_of(3), "distances_m": matrix_of(3)}),
        "travel.durations_s: must have 5 rows (clinic + 4 visits), got 3",
    ),
    (
        "matrix ragged",
        setting(
            ["travel"], {"durations_s": [*matrix_of(5)[:4], [60, 60]], "distances_m": matrix_of(5)}
        ),
        "travel.durations_s[4]: must have 5 entries, got 2",
    ),
    (
        "matrix without distances",
        setting(["travel"], {"durations_s": matrix_of(5)}),
        "travel.distances_m: is required with an explicit matrix",
    ),
    (
        "matrix and speed",
        setting(
            ["travel"], {"durations_s": matrix_of(5), "distances_m": matrix_of(5), "speed_kmh": 20}
        ),
        "travel.speed_kmh: cannot be combined with an explicit matrix",
    ),
    (
        "negative travel time",
        setting(["travel"], {"durations_s": matrix_of(5, -1), "distances_m": matrix_of(5)}),
        "travel.durations_s[0][1]: must be between 0 and 1000000000",
    ),
    (
        "diagonal not zero",
        setting(["travel"], {"durations_s": matrix_of(5), "distances_m": [[7] * 5] * 5}),
        "travel.distances_m[0][0]: must be 0 (a place to itself)",
    ),
    (
        "zero speed",
        setting(["travel", "speed_kmh"], 0),
        "travel.speed_kmh: must be between 1 and 200",
    ),
    (
        "osrm not a URL",
        setting(["travel", "osrm_url"], "osrm:5000"),
        "travel.osrm_url: must be an http:// or https:// URL",
    ),
    (
        "negative weight",
        setting(["weights", "balance"], -1),
        "weights.balance: must be between 0 and 1000",
    ),
    ("unknown weight", setting(["weights", "speed"], 1), "weights.speed: unknown field"),
    (
        "infinite weight",
        setting(["weights", "travel"], float("inf")),
        "weights.travel: must be a number",
    ),
    ("bad now", setting(["now"], "25:00"), "now: not a time of day: '25:00'"),
    (
        "fixed without now",
        setting(["nurses", 0, "fixed"], [{"visit": "v0", "start": "08:10"}]),
        'nurses[0].fixed: needs "now" (the time the plan is changed)',
    ),
    (
        "fixed unknown visit",
        steps(
            setting(["now"], "09:00"),
            setting(["nurses", 0, "fixed"], [{"visit": "nope", "start": "08:10"}]),
        ),
        "nurses[0].fixed[0].visit: unknown visit 'nope'",
    ),
    (
        "fixed twice",
        steps(
            setting(["now"], "09:00"),
            setting(["nurses", 0, "fixed"], [{"visit": "v0", "start": "08:10"}]),
            setting(["nurses", 1, "fixed"], [{"visit": "v0", "start": "08:10"}]),
        ),
        "nurses[1].fixed[0].visit: already fixed for another nurse",
    ),
    (
        "fixed out of order",
        steps(
            setting(["now"], "10:00"),
            setting(
                ["nurses", 0, "fixed"],
                [{"visit": "v0", "start": "09:00"}, {"visit": "v1", "start": "08:00"}],
            ),
        ),
        "nurses[0].fixed[1]: times must run arrive ≤ start ≤ end, after the previous stop",
    ),
    (
        "fixed break for a nurse without one",
        steps(
            setting(["now"], "10:00"),
            setting(["nurses", 1, "fixed"], [{"break": True, "start": "09:00", "end": "09:30"}]),
        ),
        "nurses[1].fixed: has a break but the nurse has none",
    ),
    (
        "too many visits",
        lambda obj: obj.update(
            visits=[dict(obj["visits"][1], id=i) for i in range(MAX_VISITS + 1)]
        ),
        f"visits: at most {MAX_VISITS} visits per request",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [(e, m) for _, e, m in BAD], ids=[c for c, _, _ in BAD]
)
def test_bad_request_names_the_field(edit: Edit, expected: str) -> None:
    obj = base()
    edit(obj)
    with pytest.raises(PlanRequestError) as caught:
        parse_plan_request(obj)
    assert str(caught.value) == expected
    assert caught.value.field == expected.split(": ", 1)[0]


@pytest.mark.parametrize("value", [[], "plan", None, 3])
def test_request_must_be_an_object(value: object) -> None:
    with pytest.raises(PlanRequestError, match=r"^request: must be a JSON object$"):
        parse_plan_request(value)


def test_good_request_parses_with_defaults() -> None:
    obj = base()
    del obj["travel"], obj["weights"]
    del obj["visits"][2]["skills"], obj["visits"][2]["priority"], obj["visits"][2]["optional"]
    request = parse_plan_request(obj)
    assert request.travel == SpeedTravel(speed_kmh=20.0, road_factor=1.3)
    assert request.weights.continuity == 600.0
    assert request.nurses[1].id == 7 and request.nurses[1].max_visits is None
    assert request.nurses[0].break_ is not None and request.nurses[0].break_.window == (
        clock("11:30"),
        clock("13:30"),
    )
    v2 = request.visits[2]
    assert (v2.skills, v2.priority, v2.optional) == (frozenset(), "routine", False)


def test_fixed_stops_take_defaults_from_the_visit() -> None:
    obj = base()
    obj["now"] = "09:00"
    obj["nurses"][0]["fixed"] = [
        {"visit": "v0", "start": "08:10"},
        {"break": True, "arrive": "08:50", "start": "08:55", "end": "09:25"},
    ]
    fixed = parse_plan_request(obj).nurses[0].fixed
    assert [(f.visit, f.arrive, f.start, f.end) for f in fixed] == [
        ("v0", clock("08:10"), clock("08:10"), clock("08:40")),
        (None, clock("08:50"), clock("08:55"), clock("09:25")),
    ]


@pytest.mark.parametrize("explicit", [False, True])
def test_request_round_trips(explicit: bool) -> None:
    obj = base()
    if explicit:
        obj["travel"] = {"durations_s": matrix_of(5, 300), "distances_m": matrix_of(5, 1500)}
    obj["now"] = "09:00:05"
    obj["nurses"][0]["fixed"] = [{"visit": "v0", "start": "08:10"}]
    request = parse_plan_request(obj)
    again = parse_plan_request(json.loads(json.dumps(request_to_json(request))))
    assert again == request
    assert isinstance(again.travel, TravelMatrix) == explicit


def test_plan_round_trips_through_json() -> None:
    request = parse_plan_request(base())
    plan = planned(request)
    text = json.dumps(plan_to_json(plan))
    again = plan_from_json(json.loads(text))
    assert again == plan
    assert_sound(request, again)


def test_plan_json_shape() -> None:
    request = parse_plan_request(base())
    out = plan_to_json(planned(request))
    assert set(out) == {"date", "routes", "unassigned", "totals", "solver"}
    route = next(r for r in out["routes"] if r["stops"])
    assert set(route) >= {"nurse", "stops", "travel_s", "distance_m", "leave", "back"}
    stop = route["stops"][0]
    assert set(stop) >= {"visit", "arrive", "start", "end", "kind"}
    assert stop["start"] == format_clock(clock(stop["start"]))  # "HH:MM:SS"
    assert len(stop["start"]) == 8


def test_plan_from_json_rejects_unknown_reason() -> None:
    request = parse_plan_request(base())
    out = plan_to_json(planned(request))
    out = copy.deepcopy(out)
    out["unassigned"] = [{"visit": "v0", "reason": "because"}]
    with pytest.raises(ValueError, match="unknown reason"):
        plan_from_json(out)
