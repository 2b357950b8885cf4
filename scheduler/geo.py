"""Distances on the map: is a location pin plausible for the clinic's service area?

Pure: the caller passes the clinic's point and radius (from `[clinic]` config).
"""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points given in degrees."""
    p1, p2 = radians(lat1), radians(lat2)
    dlat, dlon = p2 - p1, radians(lon2 - lon1)
    h = sin(dlat / 2) ** 2 + cos(p1) * cos(p2) * sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))


def outside_radius(
    lat: float, lon: float, centre: tuple[float, float], radius_km: float
) -> float | None:
    """The distance in km when the pin lies beyond `radius_km` of `centre`, else None."""
    km = haversine_km(centre[0], centre[1], lat, lon)
    return km if km > radius_km else None
