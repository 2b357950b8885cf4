"""Seeded, synthetic clinic days around Puskesmas Kassi-Kassi, Makassar (benchmarks only).

Visits are spread uniformly over a disc of `radius_km` around the clinic, with a realistic mix
of skills, windows, priorities and preferred nurses. No real patient data.

    python bench/planner_makassar.py --rich [--quick] [--seeds 1 2 3 4]

runs the "rich" days (issue 13): 10 nurses, 120 visits, 25 % of visits needing a skill held
by 2 nurses each, 2 part-timers (08–12), 25 optional visits. For each seed it solves with
balance and continuity weights 0 at 5 s and 60 s (shared profiles) and prints the 5 s / 60 s
travel ratio and their mean (target ≤ 1.01); then the same with the default weights; and
beside each 5 s run one with a profile per nurse (`share_profiles=False`, the old model) for
iterations per second before/after. Every plan goes through the checker. Writes markdown to
bench/results/planner_makassar_rich.md (git-ignored). `--quick`: 1 s / 5 s, one seed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import random
import sys
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

from scheduler.planner.model import (
    Break,
    GeoPoint,
    Nurse,
    PlanRequest,
    SpeedTravel,
    Visit,
    Weights,
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


# Rich days: (skills, how many nurses have exactly these); a special skill is held by 2 nurses.
RICH_NURSES: list[tuple[frozenset[str], int]] = [
    (frozenset({"general"}), 6),  # the last two of these are the part-timers
    (frozenset({"general", "wound_care"}), 2),
    (frozenset({"general", "diabetes"}), 2),
]
RICH_SPECIAL = ("wound_care", "diabetes")


def rich_day(seed: int = 1, weights: Weights | None = None) -> PlanRequest:
    """10 nurses, 120 visits: 30 (25 %) need wound care or diabetes care (15 each, each skill
    held by 2 nurses), 2 general part-timers 08:00–12:00 (cap 8, no break), 8 full-day nurses
    07:30–16:00 with a 30 min break in 11:30–13:30 (cap 14), 25 optional visits, 8 % of the
    others urgent, half the visits with a preferred nurse (one able to do it)."""
    rng = random.Random(1000 + seed)
    staff = []
    pool = [skills for skills, count in RICH_NURSES for _ in range(count)]
    for i, skills in enumerate(pool):
        part_time = i in (4, 5)
        staff.append(
            Nurse(
                id=f"N{i + 1:02d}",
                shift=(clock("08:00"), clock("12:00"))
                if part_time
                else (clock("07:30"), clock("16:00")),
                skills=skills,
                max_visits=8 if part_time else 14,
                break_=None
                if part_time
                else Break(duration_s=1800, window=(clock("11:30"), clock("13:30"))),
            )
        )
    n_visits, n_special, n_optional = 120, 30, 25
    needs = [frozenset({RICH_SPECIAL[j % 2]}) for j in range(n_special)]
    needs += [frozenset({"general"})] * (n_visits - n_special)
    rng.shuffle(needs)
    optional = set(rng.sample(range(n_visits), n_optional))
    day = []
    for j, skills in enumerate(needs):
        distance = 4000 * math.sqrt(rng.random())
        angle = rng.uniform(0, 2 * math.pi)
        lat = KASSI_KASSI.lat + distance * math.sin(angle) / METRES_PER_DEGREE
        lon = KASSI_KASSI.lon + distance * math.cos(angle) / (
            METRES_PER_DEGREE * math.cos(math.radians(KASSI_KASSI.lat))
        )
        window = _pick(rng, WINDOWS)
        if window is None:
            start = rng.randrange(clock("08:00"), clock("14:00"), 900)
            span = (start, start + 3600)
        else:
            span = (clock(window[0]), clock(window[1]))
        urgent = j not in optional and rng.random() < 0.08
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
                optional=j in optional,
                preferred_nurse=rng.choice(able) if rng.random() < 0.5 else None,
            )
        )
    return PlanRequest(
        date=dt.date(2025, 3, 12),
        depot=KASSI_KASSI,
        nurses=tuple(staff),
        visits=tuple(day),
        travel=SpeedTravel(speed_kmh=20.0, road_factor=1.3),
        weights=weights if weights is not None else Weights(),
    )


def main() -> int:
    from planner_rich import run_rich  # the runner imports the solver; the generator does not

    parser = argparse.ArgumentParser(description="rich Makassar days (issue 13)")
    parser.add_argument("--rich", action="store_true", help="run the rich-day benchmark")
    parser.add_argument("--quick", action="store_true", help="1 s / 5 s, one seed")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4])
    args = parser.parse_args()
    if not args.rich:
        parser.error("only --rich is runnable here; the plain day runs in bench/planner.py")
    seeds = args.seeds[:1] if args.quick else args.seeds
    short, long = (1.0, 5.0) if args.quick else (5.0, 60.0)
    header = (
        f"## Rich Makassar days, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}\n\n"
        f"PyVRP {version('pyvrp')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}), load average at start "
        f"{os.getloadavg()[0]:.2f}. Command: `python bench/planner_makassar.py "
        f"{' '.join(sys.argv[1:])}`.\n"
    )
    print(header, flush=True)
    report = header + "\n" + run_rich(rich_day, seeds, short, long)
    report += f"\nLoad average at end {os.getloadavg()[0]:.2f}.\n"
    print()
    print(report)
    results = Path(__file__).resolve().parent / "results" / "planner_makassar_rich.md"
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(report)
    print(f"written to {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
