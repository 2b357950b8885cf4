"""scheduler.geo: distances and the service-radius check (table tests)."""

from __future__ import annotations

import pytest

from scheduler.geo import haversine_km, outside_radius

PUSKESMAS = (-5.1587, 119.4465)


@pytest.mark.parametrize(
    ("lat", "lon", "low", "high"),
    [
        (-5.1587, 119.4465, 0.0, 0.001),  # the puskesmas itself
        (-5.1601, 119.4480, 0.1, 0.4),  # the test helpers' home in Kassi-Kassi
        (-5.16, 119.44, 0.5, 1.0),  # Kassi-Kassi centre
        (-6.2088, 106.8456, 1380, 1440),  # Jakarta
        (40.7128, -74.0060, 15500, 16200),  # New York
    ],
)
def test_distance_from_the_puskesmas(lat: float, lon: float, low: float, high: float) -> None:
    assert low <= haversine_km(*PUSKESMAS, lat, lon) <= high


@pytest.mark.parametrize(
    ("lat", "lon", "radius", "far"),
    [
        (-5.1601, 119.4480, 5.0, False),
        (-5.1587, 119.4465, 5.0, False),
        (-5.20, 119.4465, 5.0, False),  # ≈ 4.6 km south: inside 5
        (-5.21, 119.4465, 5.0, True),  # ≈ 5.7 km
        (-6.2088, 106.8456, 5.0, True),
        (-6.2088, 106.8456, 2000.0, False),
    ],
)
def test_outside_radius(lat: float, lon: float, radius: float, far: bool) -> None:
    km = outside_radius(lat, lon, PUSKESMAS, radius)
    assert (km is not None) is far
    if km is not None:
        assert km > radius
