"""Travel: the great-circle estimate, and OSRM's table service over loopback with fallback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aiohttp import web

from scheduler.planner import travel
from scheduler.planner.model import GeoPoint, SpeedTravel
from scheduler.planner.travel import (
    OsrmError,
    estimate_matrix,
    haversine_m,
    osrm_matrix,
    request_points,
    resolve_travel,
    travel_matrix,
)
from tests.planner.support import CLINIC, matrix, nurse, request, visit


@pytest.mark.parametrize(
    ("a", "b", "metres"),
    [
        (GeoPoint(0.0, 0.0), GeoPoint(1.0, 0.0), 111_195),  # one degree of latitude
        (GeoPoint(-5.158, 119.446), GeoPoint(-5.158, 119.446), 0),
        (GeoPoint(-5.158, 119.446), GeoPoint(-5.149, 119.446), 1_001),  # 0.009° north
        (GeoPoint(0.0, 179.5), GeoPoint(0.0, -179.5), 111_195),  # across the date line
    ],
)
def test_haversine(a: GeoPoint, b: GeoPoint, metres: int) -> None:
    assert round(haversine_m(a, b)) == pytest.approx(metres, abs=1)
    assert haversine_m(a, b) == pytest.approx(haversine_m(b, a))


@pytest.mark.parametrize(
    ("speed", "factor", "expected_m", "expected_s"),
    [(20.0, 1.3, 1301, 234), (20.0, 1.0, 1001, 180), (40.0, 1.3, 1301, 117)],
)
def test_estimate_is_road_factor_at_speed(
    speed: float, factor: float, expected_m: int, expected_s: int
) -> None:
    points = [GeoPoint(-5.158, 119.446), GeoPoint(-5.149, 119.446)]
    estimate = estimate_matrix(points, speed, factor)
    assert estimate.distances_m == ((0, expected_m), (expected_m, 0))
    assert estimate.durations_s == ((0, expected_s), (expected_s, 0))


def test_request_matrix_explicit_or_estimated() -> None:
    explicit = matrix([[0, 5], [7, 0]])
    req = request([nurse()], [visit("v", east_m=1000)], matrix=explicit)
    assert travel_matrix(req) is explicit
    estimated = travel_matrix(replace(req, travel=SpeedTravel(20.0, 1.3)))
    assert estimated.durations_s[0][1] == estimated.durations_s[1][0] == 234


# --- a tiny OSRM table service on loopback ---------------------------------------------------


def fake_duration(a: tuple[float, float], b: tuple[float, float]) -> int:
    """Deliberately unlike the estimate (and asymmetric) so a test can tell who answered."""
    return round(abs(a[0] - b[0]) * 50_000 + abs(a[1] - b[1]) * 70_000) + (7 if a < b else 3)


@dataclass
class FakeOsrm:
    mode: str = "ok"
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def table(self, request: web.Request) -> web.Response:
        coordinates = []
        for pair in request.match_info["coordinates"].split(";"):
            lon, lat = pair.split(",")
            coordinates.append((float(lon), float(lat)))
        query = dict(request.query)
        self.requests.append({"coordinates": len(coordinates), **query})
        if self.mode == "error":
            return web.Response(status=500, text="boom")
        if self.mode == "slow":
            await asyncio.sleep(2)
        if self.mode == "toobig":
            return web.json_response(
                {"code": "TooBig", "message": "Too many table coordinates"}, status=400
            )
        if self.mode == "garbage":
            return web.Response(text="<html>not osrm</html>")
        assert query["annotations"] == "duration,distance"
        sources = [int(i) for i in query["sources"].split(";")]
        destinations = [int(i) for i in query["destinations"].split(";")]
        durations: list[list[float | None]] = [
            [fake_duration(coordinates[s], coordinates[d]) + 0.4 for d in destinations]
            for s in sources
        ]
        distances = [[(value or 0) * 6.0 for value in row] for row in durations]
        if self.mode == "null":
            durations[0][-1] = None
        return web.json_response({"code": "Ok", "durations": durations, "distances": distances})


@contextlib.asynccontextmanager
async def serve(handler: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """Serve `handler` as OSRM's table route on a free loopback port; yields the base URL."""
    app = web.Application()
    app.router.add_get("/table/v1/driving/{coordinates}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.5)  # don't wait on the deliberately slow one
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def osrm() -> AsyncIterator[FakeOsrm]:
    fake = FakeOsrm()
    async with serve(fake.table) as url:
        fake.url = url
        yield fake


def points(n: int) -> list[GeoPoint]:
    return [GeoPoint(-5.158 + 0.002 * i, 119.446 + 0.001 * (i % 3)) for i in range(n)]


def expected(pts: list[GeoPoint]) -> list[list[int]]:
    return [
        [0 if i == j else fake_duration((a.lon, a.lat), (b.lon, b.lat)) for j, b in enumerate(pts)]
        for i, a in enumerate(pts)
    ]


async def test_osrm_table_parsed(osrm: FakeOsrm) -> None:
    pts = points(4)
    table = await osrm_matrix(osrm.url, pts)
    want = expected(pts)
    assert [list(row) for row in table.durations_s] == want
    assert [list(row) for row in table.distances_m] == [
        [0 if v == 0 else round((v + 0.4) * 6.0) for v in row] for row in want
    ]
    assert len(osrm.requests) == 1 and osrm.requests[0]["coordinates"] == 4


async def test_osrm_large_table_in_blocks(osrm: FakeOsrm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(travel, "OSRM_BLOCK", 2)
    pts = points(5)
    table = await osrm_matrix(osrm.url, pts)
    assert [list(row) for row in table.durations_s] == expected(pts)
    assert len(osrm.requests) == 9  # 3 source blocks × 3 destination blocks
    assert max(r["coordinates"] for r in osrm.requests) <= 4


async def test_resolve_uses_osrm_when_configured(osrm: FakeOsrm) -> None:
    req = request([nurse()], [visit("a", east_m=800), visit("b", north_m=500)])
    req = replace(req, travel=SpeedTravel(20.0, 1.3, osrm_url=osrm.url + "/"))
    table = await resolve_travel(req)
    assert [list(row) for row in table.durations_s] == expected(request_points(req))
    assert table != travel_matrix(req)


@pytest.mark.parametrize("mode", ["error", "toobig", "garbage", "null", "slow"])
async def test_resolve_falls_back_to_estimate(
    osrm: FakeOsrm, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    osrm.mode = mode
    req = request([nurse()], [visit("a", east_m=800)])
    req = replace(req, travel=SpeedTravel(20.0, 1.3, osrm_url=osrm.url))
    with caplog.at_level(logging.WARNING, logger="scheduler.planner.travel"):
        table = await resolve_travel(req, timeout_s=0.5)
    assert table == travel_matrix(req)
    assert osrm.requests, "the server was asked first"
    assert any("using great-circle estimate" in r.getMessage() for r in caplog.records)


async def test_resolve_falls_back_when_nobody_listens(caplog: pytest.LogCaptureFixture) -> None:
    req = request([nurse()], [visit("a", east_m=800)])
    req = replace(req, travel=SpeedTravel(20.0, 1.3, osrm_url="http://127.0.0.1:9"))
    with caplog.at_level(logging.WARNING, logger="scheduler.planner.travel"):
        table = await resolve_travel(req, timeout_s=2)
    assert table == travel_matrix(req)
    assert "127.0.0.1:9" in caplog.text


async def test_explicit_matrix_never_asks_osrm(osrm: FakeOsrm) -> None:
    explicit = matrix([[0, 5], [7, 0]])
    req = request([nurse()], [visit("v")], matrix=explicit)
    assert await resolve_travel(req) is explicit
    assert osrm.requests == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"code": "Ok", "durations": [[0]], "distances": [[0]]}, "wrong number of rows"),
        ({"code": "Ok", "durations": [[0, -1], [1, 0]], "distances": [[0, 1], [1, 0]]}, "negative"),
        (
            {"code": "Ok", "durations": [[0, "x"], [1, 0]], "distances": [[0, 1], [1, 0]]},
            "no duration",
        ),
        ({"code": "Ok"}, "lacks durations"),
        ({"code": "NoTable"}, "code 'NoTable'"),
    ],
)
async def test_osrm_rejects_malformed_tables(body: dict[str, Any], message: str) -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response(body)

    async with serve(handler) as url:
        with pytest.raises(OsrmError, match=message):
            await osrm_matrix(url, [CLINIC, GeoPoint(-5.15, 119.45)])
