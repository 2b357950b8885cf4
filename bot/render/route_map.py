"""A nurse's route as links and a picture: Google Maps directions and an offline PNG.

Pure: coordinates in, URLs or PNG bytes out. The picture is drawn with matplotlib's Agg canvas
(no display, no map tiles, nothing fetched): the clinic, the stops numbered in visiting order and
the path between them, on an equirectangular projection that is true to scale at Makassar's
latitude, with a scale bar. It carries no names or addresses; the numbers match the digest.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

MAPS_DIR_URL = "https://www.google.com/maps/dir/"
# Maps URLs (developers.google.com/maps/documentation/urls): waypoints are separated by "|"; the
# Google Maps app and desktop browsers take up to 9 of them, mobile browsers fewer (3). A route
# with more stops is split into consecutive legs, each its own link, so every link opens whole.
MAX_WAYPOINTS = 9


@dataclass(frozen=True)
class MapPoint:
    lat: float
    lon: float

    @property
    def text(self) -> str:
        return f"{self.lat:.6f},{self.lon:.6f}"


def directions_url(
    origin: MapPoint | None,
    destination: MapPoint,
    waypoints: Sequence[MapPoint] = (),
    *,
    navigate: bool = False,
) -> str:
    """One Maps URLs directions link (driving). Without `origin`, Maps starts where the phone is.

    `navigate` adds ``dir_action=navigate``: the app starts turn-by-turn guidance when the phone is
    at the origin (else it shows the route preview).
    """
    if len(waypoints) > MAX_WAYPOINTS:
        raise ValueError(f"at most {MAX_WAYPOINTS} waypoints per link")
    params: list[tuple[str, str]] = [("api", "1")]
    if origin is not None:
        params.append(("origin", origin.text))
    params.append(("destination", destination.text))
    if waypoints:
        params.append(("waypoints", "|".join(p.text for p in waypoints)))
    params.append(("travelmode", "driving"))
    if navigate:
        params.append(("dir_action", "navigate"))
    return MAPS_DIR_URL + "?" + urlencode(params, safe=",")


@dataclass(frozen=True)
class RouteLink:
    """A link whose new stops are `first`..`last` (1-based visiting order)."""

    url: str
    first: int
    last: int


def route_links(
    clinic: MapPoint, stops: Sequence[MapPoint], max_waypoints: int = MAX_WAYPOINTS
) -> list[RouteLink]:
    """Links covering clinic → every stop in order → clinic, each with ≤ `max_waypoints`.

    A link holds origin + waypoints + destination; consecutive links share their joint point, so
    following them one after another drives the whole route.
    """
    if not stops:
        return []
    if max_waypoints < 1:
        raise ValueError("max_waypoints must be at least 1")
    # Points of the whole tour; index 0 and the last are the clinic.
    tour = [clinic, *stops, clinic]
    links: list[RouteLink] = []
    start = 0
    # The way home from the last stop alone is not worth a link of its own.
    while start < len(stops):
        end = min(start + max_waypoints + 1, len(tour) - 1)
        url = directions_url(tour[start], tour[end], tour[start + 1 : end], navigate=True)
        links.append(RouteLink(url, first=start + 1, last=min(end, len(stops))))
        start = end
    return links


def _metres_per_degree(lat: float) -> tuple[float, float]:
    return 111_320.0 * math.cos(math.radians(lat)), 110_574.0


def _nice_scale(span_m: float) -> int:
    """A round scale-bar length (m) about a quarter of the map's width."""
    target = max(span_m / 4, 50)
    exponent = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * exponent <= target:
            return int(step * exponent)
    return int(exponent)


def route_png(
    clinic: MapPoint,
    stops: Sequence[MapPoint],
    *,
    title: str = "",
    clinic_label: str = "",
    approximate: Sequence[bool] = (),
    size_px: int = 800,
) -> bytes:
    """A PNG of the route: clinic (square), stops (numbered circles), the path in order.

    Stops whose position is only approximate (no pin from the family) are drawn hollow.
    """
    # Imported here: matplotlib is heavy, and only the digest needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    lat0 = clinic.lat
    mx, my = _metres_per_degree(lat0)

    def xy(p: MapPoint) -> tuple[float, float]:
        return (p.lon - clinic.lon) * mx, (p.lat - clinic.lat) * my

    points = [xy(p) for p in stops]
    home = (0.0, 0.0)
    xs = [home[0], *(x for x, _ in points)]
    ys = [home[1], *(y for _, y in points)]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 400.0)
    pad = span * 0.12
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2
    half = span / 2 + pad

    dpi = 100
    fig = Figure(figsize=(size_px / dpi, size_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.04, 0.04, 0.92, 0.88))
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_facecolor("#f7f7f2")
    for spine in ax.spines.values():
        spine.set_color("#bbbbbb")

    tour = [home, *points, home]
    for i, (a, b) in enumerate(itertools.pairwise(tour)):
        if a == b:
            continue
        last_leg = i == len(tour) - 2
        ax.add_patch(
            FancyArrowPatch(
                a,
                b,
                arrowstyle="-|>",
                mutation_scale=16,
                shrinkA=13,
                shrinkB=13,
                linewidth=2.0,
                linestyle="--" if last_leg else "-",
                color="#9e9e9e" if last_leg else "#1565c0",
                zorder=2,
            )
        )
    ax.scatter([0], [0], marker="s", s=420, color="#c62828", zorder=3)
    ax.annotate(
        "P",
        (0, 0),
        ha="center",
        va="center",
        color="white",
        fontsize=12,
        fontweight="bold",
        zorder=4,
    )
    if clinic_label:
        ax.annotate(
            clinic_label,
            (0, 0),
            xytext=(0, -22),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9,
            color="#c62828",
            zorder=4,
        )
    for n, (x, y) in enumerate(points, start=1):
        hollow = n - 1 < len(approximate) and approximate[n - 1]
        ax.scatter(
            [x],
            [y],
            s=520,
            facecolor="white" if hollow else "#1565c0",
            edgecolor="#1565c0",
            linewidth=2,
            zorder=5,
        )
        ax.annotate(
            str(n),
            (x, y),
            ha="center",
            va="center",
            color="#1565c0" if hollow else "white",
            fontsize=11,
            fontweight="bold",
            zorder=6,
        )

    scale = _nice_scale(2 * half)
    x0, y0 = cx - half + pad * 0.4, cy - half + pad * 0.4
    ax.plot([x0, x0 + scale], [y0, y0], color="#333333", linewidth=3, zorder=7)
    label = f"{scale // 1000} km" if scale >= 1000 else f"{scale} m"
    ax.annotate(
        label,
        (x0 + scale / 2, y0),
        xytext=(0, 5),
        textcoords="offset points",
        ha="center",
        fontsize=9,
        zorder=7,
    )
    ax.annotate(
        "N ↑",
        (cx + half - pad * 0.4, cy + half - pad * 0.4),
        ha="right",
        va="top",
        fontsize=11,
        zorder=7,
    )
    if title:
        fig.suptitle(title, fontsize=13, y=0.975)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
