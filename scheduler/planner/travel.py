"""Travel times and distances between the clinic and the visits.

Three sources, in the order a caller usually wants them:
- an explicit matrix in the request (used as given);
- an OSRM server's table service, when `osrm_url` is set (`resolve_travel`, the only I/O here);
- the default estimate: great-circle distance × road factor, driven at a fixed speed.
Any OSRM failure falls back to the estimate with a logged warning: a plan on estimated times
beats no plan.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from scheduler.planner.model import GeoPoint, PlanRequest, SpeedTravel, TravelMatrix

if TYPE_CHECKING:  # aiohttp is imported when OSRM is actually asked, not by every importer
    import aiohttp

log = logging.getLogger(__name__)

EARTH_RADIUS_M = 6_371_008.8
# osrm-routed's default --max-table-size is 100 locations; blocks of 50 sources × 50
# destinations keep every request at ≤ 100 coordinates whatever the server counts.
OSRM_BLOCK = 50


class OsrmError(RuntimeError):
    """The OSRM server did not give a usable table."""


def haversine_m(a: GeoPoint, b: GeoPoint) -> float:
    """Great-circle distance in metres."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def estimate_matrix(
    points: Sequence[GeoPoint], speed_kmh: float = 20.0, road_factor: float = 1.3
) -> TravelMatrix:
    """Distances = great-circle × road factor (m); durations = distance at `speed_kmh` (s)."""
    metres_per_s = speed_kmh / 3.6
    distances = [
        [round(haversine_m(a, b) * road_factor) if a != b else 0 for b in points] for a in points
    ]
    durations = [[round(d / metres_per_s) for d in row] for row in distances]
    return TravelMatrix(
        durations_s=tuple(tuple(row) for row in durations),
        distances_m=tuple(tuple(row) for row in distances),
    )


def request_points(request: PlanRequest) -> list[GeoPoint]:
    """The clinic followed by every visit: the row order of the travel matrix."""
    return [request.depot, *(GeoPoint(v.lat, v.lon) for v in request.visits)]


def travel_matrix(request: PlanRequest) -> TravelMatrix:
    """The request's own matrix, or the estimate from coordinates (no I/O, never OSRM)."""
    if isinstance(request.travel, TravelMatrix):
        return request.travel
    return estimate_matrix(
        request_points(request), request.travel.speed_kmh, request.travel.road_factor
    )


def _osrm_cell(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise OsrmError(f"OSRM table has no {what} for a pair of places ({value!r})")
    if value < 0:
        raise OsrmError(f"OSRM table has a negative {what}")
    return round(value)


async def _osrm_block(
    session: aiohttp.ClientSession,
    base_url: str,
    points: Sequence[GeoPoint],
    sources: list[int],
    destinations: list[int],
) -> tuple[list[list[int]], list[list[int]]]:
    used = sorted(set(sources) | set(destinations))
    position = {index: k for k, index in enumerate(used)}
    coordinates = ";".join(f"{points[i].lon:.6f},{points[i].lat:.6f}" for i in used)
    params = {
        "annotations": "duration,distance",
        "sources": ";".join(str(position[i]) for i in sources),
        "destinations": ";".join(str(position[i]) for i in destinations),
    }
    url = f"{base_url.rstrip('/')}/table/v1/driving/{coordinates}"
    async with session.get(url, params=params) as response:
        if response.status != 200:
            raise OsrmError(f"OSRM answered HTTP {response.status}")
        body = await response.json(content_type=None)
    if not isinstance(body, dict) or body.get("code") != "Ok":
        code = body.get("code") if isinstance(body, dict) else None
        raise OsrmError(f"OSRM answered code {code!r}")
    durations, distances = body.get("durations"), body.get("distances")
    if not isinstance(durations, list) or not isinstance(distances, list):
        raise OsrmError("OSRM table lacks durations or distances")
    if len(durations) != len(sources) or len(distances) != len(sources):
        raise OsrmError("OSRM table has the wrong number of rows")
    out_t: list[list[int]] = []
    out_d: list[list[int]] = []
    for row_t, row_d in zip(durations, distances, strict=True):
        if not isinstance(row_t, list) or not isinstance(row_d, list):
            raise OsrmError("OSRM table rows are not lists")
        if len(row_t) != len(destinations) or len(row_d) != len(destinations):
            raise OsrmError("OSRM table has the wrong number of columns")
        out_t.append([_osrm_cell(v, "duration") for v in row_t])
        out_d.append([_osrm_cell(v, "distance") for v in row_d])
    return out_t, out_d


async def osrm_matrix(
    base_url: str,
    points: Sequence[GeoPoint],
    *,
    timeout_s: float = 10.0,
    session: aiohttp.ClientSession | None = None,
) -> TravelMatrix:
    """Ask an OSRM server's table service for durations (s) and distances (m).

    Large tables are fetched in blocks of at most `OSRM_BLOCK` sources × destinations.
    Raises `OsrmError` (or aiohttp/asyncio errors) when the server cannot give a full table.
    """
    import aiohttp

    n = len(points)
    durations = [[0] * n for _ in range(n)]
    distances = [[0] * n for _ in range(n)]
    blocks = [list(range(i, min(n, i + OSRM_BLOCK))) for i in range(0, n, OSRM_BLOCK)]
    own_session = session is None
    client = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))
    try:
        for sources in blocks:
            for destinations in blocks:
                part_t, part_d = await _osrm_block(client, base_url, points, sources, destinations)
                for r, i in enumerate(sources):
                    for c, j in enumerate(destinations):
                        durations[i][j] = 0 if i == j else part_t[r][c]
                        distances[i][j] = 0 if i == j else part_d[r][c]
    finally:
        if own_session:
            await client.close()
    return TravelMatrix(
        durations_s=tuple(tuple(row) for row in durations),
        distances_m=tuple(tuple(row) for row in distances),
    )


async def resolve_travel(request: PlanRequest, *, timeout_s: float = 10.0) -> TravelMatrix:
    """The matrix to plan with: explicit, else OSRM when configured, else the estimate.

    Never raises for OSRM trouble: it logs a warning and falls back to the estimate.
    """
    import aiohttp

    travel = request.travel
    if isinstance(travel, SpeedTravel) and travel.osrm_url:
        try:
            return await osrm_matrix(travel.osrm_url, request_points(request), timeout_s=timeout_s)
        except (TimeoutError, OsrmError, aiohttp.ClientError, ValueError) as exc:
            log.warning(
                "OSRM table from %s failed (%s); using great-circle estimate instead",
                travel.osrm_url,
                exc or type(exc).__name__,
            )
    return travel_matrix(request)
