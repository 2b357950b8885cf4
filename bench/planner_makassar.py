"""A seeded, synthetic clinic day around Puskesmas Kassi-Kassi, Makassar (benchmarks only).

Visits are spread uniformly over a disc of `radius_km` around the clinic, with a realistic mix
of skills, windows, priorities and preferred nurses. No real patient data.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import TypeVar

from scheduler.planner.model import (
    Break,
    GeoPoint,
    Nurse,
    PlanRequest,
    SpeedTravel,
    Visit,
    clock,
)

T = TypeVar("T")

KASSI_KASSI = GeoPoint(lat=-5.158, lon=119.446)
METRES_PER_DEGREE = 111_320.0

# (skills, how many nurses have exactly these)
NURSE_SKILLS: list[tuple[frozenset[str], int]] = [
    (frozenset({"general"}), 4),
    (frozenset({"general", "wound_care"}), 3),
    (frozenset({"general", "diabetes"}), 2),
    (frozenset({"general", "maternal"}), 1),
]
# (required skills, share of visits)
VISIT_SKILLS: list[tuple[frozenset[str], float]] = [
    (frozenset({"general"}), 0.65),
    (frozenset({"wound_care"}), 0.17),
    (frozenset({"diabetes"}), 0.12),
    (frozenset({"maternal"}), 0.06),
]
# (window, share of visits): the whole day, mornings, afternoons, or a one-hour slot
WINDOWS: list[tuple[tuple[str, str] | None, float]] = [
    (("08:00", "15:00"), 0.40),
    (("08:00", "11:00"), 0.30),
    (("11:00", "15:00"), 0.20),
    (None, 0.10),
]


def _pick(rng: random.Random, table: list[tuple[T, float]]) -> T:
    return rng.choices([item for item, _ in table], weights=[w for _, w in table])[0]


def makassar_day(
    seed: int = 1, nurses: int = 10, visits: int = 120, radius_km: float = 4.0
) -> PlanRequest:
    rng = random.Random(seed)
    skill_pool = [skills for skills, count in NURSE_SKILLS for _ in range(count)]
    staff = []
    for i in range(nurses):
        skills = skill_pool[i % len(skill_pool)]
        part_time = i in (nurses - 1, nurses - 2)
        shift = (clock("07:30"), clock("12:30") if part_time else clock("16:00"))
        staff.append(
            Nurse(
                id=f"N{i + 1:02d}",
                shift=shift,
                skills=skills,
                max_visits=8 if part_time else 14,
                break_=None
                if part_time
                else Break(duration_s=1800, window=(clock("11:30"), clock("13:30"))),
            )
        )
    day = []
    for j in range(visits):
        distance = radius_km * 1000 * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        lat = KASSI_KASSI.lat + distance * math.sin(angle) / METRES_PER_DEGREE
        lon = KASSI_KASSI.lon + distance * math.cos(angle) / (
            METRES_PER_DEGREE * math.cos(math.radians(KASSI_KASSI.lat))
        )
        skills = _pick(rng, VISIT_SKILLS)
        window = _pick(rng, WINDOWS)
        if window is None:
            start = rng.randrange(clock("08:00"), clock("14:00"), 900)
            span = (start, start + 3600)
        else:
            span = (clock(window[0]), clock(window[1]))
        urgent = rng.random() < 0.08
        able = [n.id for n in staff if skills <= n.skills]
        day.append(
            Visit(
                id=f"V{j + 1:03d}",
                lat=round(lat, 6),
                lon=round(lon, 6),
                duration_s=rng.randrange(15, 36, 5) * 60,
                window=span,
                skills=skills,
                priority="urgent" if urgent else "routine",
                optional=not urgent and rng.random() < 0.15,
                preferred_nurse=rng.choice(able) if able and rng.random() < 0.5 else None,
            )
        )
    return PlanRequest(
        date=dt.date(2025, 3, 12),
        depot=KASSI_KASSI,
        nurses=tuple(staff),
        visits=tuple(day),
        travel=SpeedTravel(speed_kmh=20.0, road_factor=1.3),
    )
