"""What a route map draws (pure): the start point and each route's stops in order, handed to
static/route_map.js as JSON in a <script type="application/json"> block (the CSP allows no
inline script). Colours are classes c0…c7 in console.css, so the map and the list agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from homecare.config import WebConfig

COLOURS = 8


@dataclass(frozen=True)
class MapStop:
    seq: int
    lat: float
    lon: float
    label: str


@dataclass(frozen=True)
class MapRoute:
    name: str
    stops: Sequence[MapStop]


def colour(index: int) -> int:
    return index % COLOURS


def map_data(
    web: WebConfig,
    start: tuple[float, float],
    start_label: str,
    routes: Sequence[MapRoute],
) -> dict[str, Any]:
    tiles = {"url": web.tile_url, "attribution": web.tile_attribution} if web.tile_url else None
    return {
        "tiles": tiles,
        "start": {"lat": start[0], "lon": start[1], "label": start_label},
        "routes": [
            {
                "name": r.name,
                "colour": colour(i),
                "stops": [
                    {"n": s.seq, "lat": round(s.lat, 6), "lon": round(s.lon, 6), "label": s.label}
                    for s in r.stops
                ],
            }
            for i, r in enumerate(routes)
        ],
    }
