"""Table tests of the pure parts: Maps links, the arrival window told to families, the note and
vitals split, dates for /cuti and /rencana, the route picture, and which stops a re-plan pins."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, time
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest

from bot.handlers.nurse_input import parse_day, split_note
from bot.render.route_map import MAX_WAYPOINTS, MapPoint, directions_url, route_links, route_png
from db.services.planning import (
    DayFacts,
    NurseFacts,
    VisitFacts,
    arrival_window,
    build_request,
    current_plan,
    planner_weights,
)
from homecare.config import Config, PlannerWeights
from scheduler.planner.checker import check_plan
from scheduler.planner.replan import pin_request, replan
from scheduler.planner.travel import travel_matrix

WITA = ZoneInfo("Asia/Makassar")
CLINIC = MapPoint(-5.1587, 119.4465)


def _points(n: int) -> list[MapPoint]:
    return [MapPoint(-5.15 + i * 0.001, 119.44 + i * 0.001) for i in range(n)]


def _query(url: str) -> dict[str, list[str]]:
    parsed = urlparse(url)
    assert f"{parsed.scheme}://{parsed.netloc}{parsed.path}" == "https://www.google.com/maps/dir/"
    return parse_qs(parsed.query)


def test_directions_url_follows_the_maps_urls_format() -> None:
    url = directions_url(CLINIC, MapPoint(-5.15, 119.44), [MapPoint(-5.1, 119.4)], navigate=True)
    q = _query(url)
    assert q["api"] == ["1"]
    assert q["origin"] == ["-5.158700,119.446500"]
    assert q["destination"] == ["-5.150000,119.440000"]
    assert q["waypoints"] == ["-5.100000,119.400000"]
    assert q["travelmode"] == ["driving"]
    assert q["dir_action"] == ["navigate"]
    assert "%7C" in directions_url(CLINIC, CLINIC, _points(2))  # the pipe is encoded
    with pytest.raises(ValueError):
        directions_url(CLINIC, CLINIC, _points(MAX_WAYPOINTS + 1))


@pytest.mark.parametrize("stops", [1, 2, 8, 9, 10, 11, 17, 18, 19, 30])
def test_route_links_cover_the_whole_tour_with_at_most_nine_waypoints(stops: int) -> None:
    points = _points(stops)
    links = route_links(CLINIC, points)
    tour: list[str] = []
    for i, link in enumerate(links):
        q = _query(link.url)
        waypoints = q.get("waypoints", [""])[0].split("|") if "waypoints" in q else []
        assert len(waypoints) <= MAX_WAYPOINTS
        leg = [q["origin"][0], *waypoints, q["destination"][0]]
        if i:
            assert leg[0] == tour[-1]  # each link starts where the last one ended
            leg = leg[1:]
        tour += leg
    expected = [CLINIC.text, *(p.text for p in points)]
    # The whole tour, clinic first; back to the clinic unless the last leg was only the way home.
    assert tour[: len(expected)] == expected
    assert tour[len(expected) :] in ([CLINIC.text], [])
    assert links[0].first == 1 and links[-1].last == stops
    assert len(links) == -(-stops // (MAX_WAYPOINTS + 1))  # origin + 9 waypoints + destination


def test_route_links_of_an_empty_day() -> None:
    assert route_links(CLINIC, []) == []


def test_route_picture_is_a_png() -> None:
    png = route_png(CLINIC, _points(5), title="Rute", clinic_label="Puskesmas", approximate=[True])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


@pytest.mark.parametrize(
    ("start", "window", "told"),
    [
        ((9, 0), ((8, 0), (10, 0)), ((8, 45), (9, 30))),
        ((8, 5), ((8, 0), (10, 0)), ((8, 0), (8, 45))),
        ((9, 52), ((8, 0), (10, 0)), ((9, 30), (10, 30))),
        ((12, 0), ((12, 0), (14, 0)), ((12, 0), (12, 30))),
    ],
)
def test_arrival_window_told_to_families(
    start: tuple[int, int], window: tuple[tuple[int, int], ...], told: tuple[tuple[int, int], ...]
) -> None:
    moment = datetime(2027, 4, 13, *start, tzinfo=WITA).astimezone(UTC)
    got = arrival_window(moment, (time(*window[0]), time(*window[1])), WITA)
    assert got == (time(*told[0]), time(*told[1]))


@pytest.mark.parametrize(
    ("text", "note", "vitals"),
    [
        ("Luka bersih", "Luka bersih", ""),
        ("Luka bersih\nTD 130/85, nadi 80", "Luka bersih", "TD 130/85, nadi 80"),
        ("TD 130/85 GDS 140", "", "TD 130/85 GDS 140"),
        ("ttv: suhu 36,5", "", "ttv: suhu 36,5"),
        ("tdk ada keluhan\nSpO2 98", "tdk ada keluhan", "SpO2 98"),
        ("  \n ", "", ""),
    ],
)
def test_split_note(text: str, note: str, vitals: str) -> None:
    assert split_note(text) == (note, vitals)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("15/04", date(2027, 4, 15)),
        ("1/3", date(2028, 3, 1)),  # already past this year: next year
        ("15-04-2027", date(2027, 4, 15)),
        ("15.04.27", date(2027, 4, 15)),
        ("2027-04-15", date(2027, 4, 15)),
        ("31/02", None),
        ("besok", None),
        ("15/13", None),
    ],
)
def test_parse_day(text: str, day: date | None) -> None:
    assert parse_day(text, date(2027, 4, 12)) == day


def test_configured_weights_scale_the_core_defaults() -> None:
    cfg = Config()
    assert planner_weights(cfg).continuity == 600.0
    assert planner_weights(cfg, replanning=True).continuity == 1800.0
    off = cfg.replace(
        planner=dataclasses.replace(cfg.planner, weights=PlannerWeights(1.0, 0.0, 0.0))
    )
    w = planner_weights(off, replanning=True)
    assert (w.travel, w.balance, w.continuity) == (1.0, 0.0, 0.0)


# --- which stops a re-plan keeps ------------------------------------------------------------

DAY = date(2027, 4, 13)


def _visit(
    vid: int,
    status: str,
    nurse: int | None,
    planned: tuple[int, int] | None,
    window: tuple[int, int] = (8, 14),
    east_m: float = 500.0,
) -> VisitFacts:
    at = datetime(2027, 4, 13, *planned, tzinfo=WITA).astimezone(UTC) if planned else None
    return VisitFacts(
        id=vid,
        code=f"V{vid}",
        status=status,
        nurse_id=nurse,
        patient_id=vid,
        service_type="chronic_check",
        priority="routine",
        window=(time(window[0]), time(window[1])),
        duration_min=30,
        planned_arrival=at,
        planned_start=at,
        planned_end=at,
        started_at=None,
        completed_at=None,
        updated_at=None,
        lat=CLINIC.lat,
        lon=CLINIC.lon + east_m * vid / 111_000.0,
        approximate=False,
        last_nurse_id=None,
    )


def _facts(
    visits: list[VisitFacts], now: tuple[int, int], status_at: dict | None = None
) -> DayFacts:
    return DayFacts(
        clinic_id=1,
        day=DAY,
        today=DAY,
        now_s=now[0] * 3600 + now[1] * 60,
        visits=tuple(visits),
        nurses=(
            NurseFacts(1, "Siti", None, frozenset({"chronic"}), 8, (8 * 3600, 14 * 3600)),
            NurseFacts(2, "Andi", None, frozenset({"chronic"}), 8, (8 * 3600, 14 * 3600)),
        ),
        route_order={
            1: tuple(v.id for v in visits if v.nurse_id == 1),
            2: tuple(v.id for v in visits if v.nurse_id == 2),
        },
        status_at=status_at or {},
        excluded=frozenset(),
        fingerprint=(),
        planned_before=True,
    )


def _pinned(facts: DayFacts) -> dict[str, list[str]]:
    cfg = Config()
    request = build_request(cfg, facts, list(facts.visits))
    matrix = travel_matrix(request)
    plan = current_plan(cfg, facts, request, matrix)
    pinned = pin_request(request, plan, facts.now_s or 0, matrix)
    result = replan(request, plan, facts.now_s or 0, matrix, time_limit_s=None, max_iterations=200)
    assert check_plan(pinned, result, matrix) == []
    return {str(n.id): [str(f.visit) for f in n.fixed] for n in pinned.nurses}


def test_a_stop_she_set_off_for_early_is_pinned_by_status() -> None:
    # 08:40: planned for 10:00, but she pressed "Berangkat" at 08:35.
    visits = [_visit(1, "on_the_way", 1, (10, 0)), _visit(2, "scheduled", 1, (11, 0))]
    gone = {(1, "on_the_way"): datetime(2027, 4, 13, 8, 35, tzinfo=WITA).astimezone(UTC)}
    assert _pinned(_facts(visits, (8, 40), gone)) == {"1": ["1"], "2": []}


def test_a_stop_whose_time_has_come_stays_even_unpressed() -> None:
    # 10:10: the 09:30 visit was never pressed (nurses forget); it stays with her.
    visits = [_visit(1, "scheduled", 1, (9, 30)), _visit(2, "scheduled", 1, (12, 0))]
    assert _pinned(_facts(visits, (10, 10))) == {"1": ["1"], "2": []}


def test_future_unstarted_stops_are_free() -> None:
    visits = [_visit(1, "scheduled", 1, (11, 0)), _visit(2, "scheduled", 2, (12, 0))]
    assert _pinned(_facts(visits, (9, 0))) == {"1": [], "2": []}


def test_done_stops_are_pinned_in_the_order_they_happened() -> None:
    done = {
        (2, "arrived"): datetime(2027, 4, 13, 8, 10, tzinfo=WITA).astimezone(UTC),
        (2, "completed"): datetime(2027, 4, 13, 8, 40, tzinfo=WITA).astimezone(UTC),
        (1, "arrived"): datetime(2027, 4, 13, 8, 50, tzinfo=WITA).astimezone(UTC),
    }
    visits = [
        _visit(1, "arrived", 1, (8, 0)),
        _visit(2, "completed", 1, (9, 0)),
        _visit(3, "scheduled", 1, (13, 0)),
    ]
    assert _pinned(_facts(visits, (9, 0), done)) == {"1": ["2", "1"], "2": []}


def test_a_long_day_is_split_under_telegrams_limit() -> None:
    from bot.i18n import Translator
    from bot.messages import MAX_TEXT
    from bot.render.nurse import route_digest
    from db.services.route_digest import NurseDay, StopView

    stops = tuple(
        StopView(
            visit_id=100 + i,
            seq=i + 1,
            code=f"C{i:05d}",
            status="scheduled",
            service_type="wound_care",
            priority="urgent" if i == 3 else "routine",
            start=time(8 + i // 6, (i * 10) % 60),
            end=None,
            window=(time(8), time(14)),
            patient_first_name="Nama<script>",
            age=70,
            address="Jl. " + "Panjang Sekali " * 8,
            rt_rw="001/002",
            kelurahan="Kassi-Kassi",
            landmark="dekat " + "pohon besar " * 5,
            phone="+62812",
            complaint="keluhan " * 20,
            lat=CLINIC.lat + i * 0.001,
            lon=CLINIC.lon,
            approximate=i % 2 == 0,
        )
        for i in range(24)
    )
    day = NurseDay(1, "Siti", DAY, stops, True, False, None, (time(8), time(14)), 90, 12.5, CLINIC)
    replies = route_digest(Translator("id"), Config(), day, "digest")
    assert len(replies) >= 2
    assert all(len(r.text) <= MAX_TEXT for r in replies)
    assert all(not r.buttons for r in replies[:-1]) and replies[-1].buttons
    text = "\n".join(r.text for r in replies)
    assert "<script>" not in text and "Nama&lt;script&gt;" in text  # typed text is escaped
    assert all(f"<b>{i}. " in text for i in range(1, 25))
    numbers = [b.text for row in replies[-1].buttons for b in row if b.data]
    assert numbers == [str(i) for i in range(1, 25)]
    maps = [b for row in replies[-1].buttons for b in row if b.url]
    assert len(maps) == 3  # 24 stops: three links of at most 9 waypoints


def test_a_long_queued_digest_renders_in_the_parts_fixed_when_queued() -> None:
    """The intent path: parts are chosen from the plain day, each part renders under the limit,
    and the parts together hold every stop once (header first, buttons last)."""
    from bot.messages import MAX_TEXT
    from bot.templates import render_intent
    from db.intents import decode_params, encode_params
    from db.services.route_digest import NurseDay, StopView, day_params, digest_parts
    from scheduler.planner.model import GeoPoint

    stops = tuple(
        StopView(
            visit_id=100 + i,
            seq=i + 1,
            code=f"C{i:05d}",
            status="scheduled",
            service_type="wound_care",
            priority="routine",
            start=time(8, i),
            end=None,
            window=(time(8), time(14)),
            patient_first_name="Nama<b>",
            age=70,
            address="Jl. " + "Panjang Sekali " * 19,
            rt_rw="001/002",
            kelurahan="Kassi-Kassi",
            landmark="dekat " + "pohon besar " * 16,
            phone="+62812",
            complaint="keluhan " * 14,
            lat=CLINIC.lat + i * 0.001,
            lon=CLINIC.lon,
            approximate=False,
        )
        for i in range(24)
    )
    clinic = GeoPoint(CLINIC.lat, CLINIC.lon)
    day = NurseDay(1, "Siti", DAY, stops, True, False, None, (time(8), time(14)), 90, 12.5, clinic)
    parts = digest_parts(day)
    assert len(parts) >= 3 and sum(parts) == 24
    params = decode_params(encode_params({"day": day_params(day), "kind": "digest"}))
    texts = []
    for i in range(len(parts)):
        rendered = asyncio.run(
            render_intent(
                "nurse.route_digest",
                {**params, "part": i, "parts": parts},
                chat_id=7,
                language="en",
                config=Config(),
            )
        )
        assert len(rendered.payload["text"]) <= MAX_TEXT
        assert ("reply_markup" in rendered.payload) == (i == len(parts) - 1)
        texts.append(rendered.payload["text"])
    assert "Your route" in texts[0] and all("Your route" not in t for t in texts[1:])
    joined = "\n".join(texts)
    assert all(joined.count(f"<b>{i}. ") == 1 for i in range(1, 25))
