"""The planning page's rules over plain HTTP: head only, CSRF on the run, one run at a time,
closed and past days refused (the bot's /rencana rules); and the tiles' host in the CSP."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import HomecareApp
from bot.web.app import headers_for
from bot.web.map_data import MapRoute, MapStop, map_data
from bot.web.urls import tile_origin
from db.models import PlanRun
from homecare.config import WebConfig, tile_url_ok
from scheduler.booking import BookingRules
from scheduler.plan_day import plan_day_refusal
from tests.nurse.helpers import TUESDAY, Clinic
from tests.web.conftest import login_link
from tests.web.test_console_http import _csrf, _signed_in

WEDNESDAY = TUESDAY + timedelta(days=1)
SUNDAY = TUESDAY + timedelta(days=5)


async def _runs(app: HomecareApp) -> int:
    async with app.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(PlanRun)) or 0)


async def test_a_second_run_is_refused_while_one_runs_and_bad_posts_change_nothing(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    await _signed_in(http, await login_link(clinic.head.user))
    shown = await http.get("/rencana")
    assert shown.status_code == 200 and 'name="hari" value="2027-04-14"' in shown.text
    csrf = _csrf(shown.text)
    before = await _runs(app)
    # No CSRF token, or a wrong one: refused, nothing queued.
    assert (await http.post("/rencana", data={"hari": "2027-04-14"})).status_code == 403
    bad = {"hari": "2027-04-14", "csrf": "0" * 64}
    assert (await http.post("/rencana", data=bad)).status_code == 403
    assert await _runs(app) == before

    # A run under way (the worker has it): a second one is refused with a clear message.
    async with app.db.transaction() as s:
        s.add(PlanRun(clinic_id=app.clinic_id, day=WEDNESDAY, kind="manual", status="running"))
    refused = await http.post("/rencana", data={"hari": "2027-04-14", "csrf": csrf})
    assert refused.status_code == 409
    assert "Rencana lain masih dibuat" in refused.text
    assert await _runs(app) == before + 1
    waiting = await http.get("/rencana", params={"hari": "2027-04-14"})
    assert "Rencana sedang dibuat" in waiting.text and 'http-equiv="refresh"' in waiting.text
    assert 'id="run-plan" disabled' in waiting.text

    # Sunday and a past day: the bot's rules.
    closed = await http.post("/rencana", data={"hari": SUNDAY.isoformat(), "csrf": csrf})
    assert closed.status_code == 400 and "bukan hari kerja" in closed.text
    past = await http.post("/rencana", data={"hari": "2027-04-12", "csrf": csrf})
    assert past.status_code == 400 and "sudah lewat" in past.text
    nonsense = await http.post("/rencana", data={"hari": "besok", "csrf": csrf})
    assert nonsense.status_code == 400 and "Tanggal tidak dikenali" in nonsense.text
    assert await _runs(app) == before + 1


async def test_a_run_is_queued_for_the_worker_and_answers_at_once(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    await _signed_in(http, await login_link(clinic.head.user))
    csrf = _csrf((await http.get("/rencana")).text)
    answer = await http.post("/rencana", data={"hari": "2027-04-14", "csrf": csrf})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/rencana?hari=2027-04-14&mulai=1"
    async with app.db.read() as s:
        run = await s.scalar(select(PlanRun).where(PlanRun.day == WEDNESDAY))
    assert run is not None and run.kind == "manual"
    assert run.requested_by_account_id == clinic.head.account_id


async def test_the_planning_page_is_for_heads_only(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    await _signed_in(http, await login_link(clinic.siti.user))
    route = await http.get("/rute")
    assert route.status_code == 200 and 'href="/rencana"' not in route.text
    assert (await http.get("/rencana")).status_code == 403
    csrf = _csrf(route.text)
    before = await _runs(app)
    assert (
        await http.post("/rencana", data={"hari": "2027-04-14", "csrf": csrf})
    ).status_code == 403
    assert await _runs(app) == before


async def test_signed_out_the_planning_page_asks_for_a_link(
    app: HomecareApp, client: Any, clinic: Clinic, http: httpx.AsyncClient
) -> None:
    assert (await http.get("/rencana")).status_code == 401


# --- pure: tiles, CSP, map data, which days may be planned --------------------------------


@pytest.mark.parametrize(
    ("url", "ok", "origin"),
    [
        ("", True, None),
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", True, "https://tile.openstreetmap.org"),
        ("https://{s}.tiles.example/{z}/{x}/{y}.png", True, "https://*.tiles.example"),
        ("http://10.0.0.5:8080/{z}/{x}/{y}.png", True, "http://10.0.0.5:8080"),
        ("https://tile.example/{z}/{x}.png", False, None),
        ("ftp://tile.example/{z}/{x}/{y}.png", False, None),
        ("https://a.example; script-src *//{z}/{x}/{y}", False, None),
        ("https://a.example'/{z}/{x}/{y}", False, None),
    ],
)
def test_tile_urls_and_their_csp_source(url: str, ok: bool, origin: str | None) -> None:
    assert tile_url_ok(url) is ok
    if ok:
        assert tile_origin(url) == origin


def test_the_csp_allows_the_tiles_host_and_nothing_else() -> None:
    none = headers_for("")[b"content-security-policy"].decode()
    assert "img-src 'self' data:;" in none and "*" not in none.replace("frame", "")
    osm = headers_for("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    csp = osm[b"content-security-policy"].decode()
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in csp
    assert "script-src 'self';" in csp and "style-src 'self';" in csp


def test_map_data_keeps_route_order_and_gives_each_route_a_colour() -> None:
    routes = [
        MapRoute(f"n{i}", [MapStop(k, -5.1 - k / 100, 119.4, f"{k}.") for k in (1, 2)])
        for i in range(10)
    ]
    data = map_data(WebConfig(tile_url=""), (-5.15, 119.44), "Puskesmas", routes)
    assert data["tiles"] is None
    assert data["start"] == {"lat": -5.15, "lon": 119.44, "label": "Puskesmas"}
    assert [r["colour"] for r in data["routes"]] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]
    assert [s["n"] for s in data["routes"][0]["stops"]] == [1, 2]
    osm = map_data(WebConfig(), (0, 0), "", [])
    assert osm["tiles"]["url"].startswith("https://tile.openstreetmap.org/")
    assert "OpenStreetMap" in osm["tiles"]["attribution"]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2027, 4, 13), None),  # Tuesday, today
        (date(2027, 4, 14), None),
        (date(2027, 4, 17), None),  # Saturday: a working day
        (date(2027, 4, 12), "past"),
        (date(2027, 4, 18), "closed"),  # Sunday
        (date(2027, 4, 15), "closed"),  # the clinic is closed that day
        (date(2027, 8, 17), "closed"),  # Independence Day
    ],
)
def test_which_days_may_be_planned(day: date, expected: str | None) -> None:
    rules = BookingRules(closures=frozenset({date(2027, 4, 15)}))
    assert plan_day_refusal(rules, date(2027, 4, 13), day) == expected
