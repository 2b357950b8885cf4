"""Solomon VRPTW instances as PyVRP data, for the planner benchmark.

Convention of the exact-methods literature (the `min_distance_trunc1` best-known results in
bks.csv): Euclidean distances truncated to one decimal, travel time = distance. We scale every
distance and time by 10 and truncate, so integer PyVRP costs are exactly ten times those
distances.
"""

from __future__ import annotations

import csv
import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyvrp

SCALE = 10


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    rows: list[
        tuple[int, float, float, int, int, int, int]
    ]  # no, x, y, demand, ready, due, service


@dataclass(frozen=True)
class BestKnown:
    vehicles: int
    distance: float


def read_instance(path: Path) -> Instance:
    lines = [line.split() for line in path.read_text().splitlines()]
    vehicles = capacity = 0
    rows = []
    for i, parts in enumerate(lines):
        if parts[:2] == ["NUMBER", "CAPACITY"]:
            vehicles, capacity = int(lines[i + 1][0]), int(lines[i + 1][1])
        if len(parts) == 7 and all(p.replace(".", "", 1).isdigit() for p in parts):
            no, x, y, demand, ready, due, service = parts
            rows.append(
                (int(no), float(x), float(y), int(demand), int(ready), int(due), int(service))
            )
    if not vehicles or not rows or rows[0][0] != 0:
        raise ValueError(f"{path}: not a Solomon instance")
    return Instance(path.stem.upper(), vehicles, capacity, rows)


def read_bks(path: Path, objective: str = "min_distance_trunc1") -> dict[str, BestKnown]:
    with path.open(newline="") as fh:
        return {
            row["instance"].upper(): BestKnown(int(row["vehicles"]), float(row["distance"]))
            for row in csv.DictReader(fh)
            if row["objective"] == objective
        }


def to_problem_data(instance: Instance) -> pyvrp.ProblemData:
    xy = np.array([(r[1], r[2]) for r in instance.rows])
    diff = xy[:, None, :] - xy[None, :, :]
    # floor(10·d) is the one-decimal truncation, ×10; the tiny epsilon guards float error
    # on distances that are exact tenths (e.g. 5.0 computed as 4.999…).
    matrix = np.floor(np.sqrt((diff**2).sum(axis=2)) * SCALE + 1e-9).astype(np.int64)
    depot = instance.rows[0]
    return pyvrp.ProblemData(
        locations=[pyvrp.Location(x=r[1], y=r[2]) for r in instance.rows],
        clients=[
            pyvrp.Client(
                location=r[0],
                delivery=[r[3]],
                service_duration=r[6] * SCALE,
                tw_early=r[4] * SCALE,
                tw_late=r[5] * SCALE,
            )
            for r in instance.rows[1:]
        ],
        depots=[pyvrp.Depot(location=0, tw_early=depot[4] * SCALE, tw_late=depot[5] * SCALE)],
        vehicle_types=[
            pyvrp.VehicleType(
                num_available=instance.vehicles,
                capacity=[instance.capacity],
                tw_early=depot[4] * SCALE,
                tw_late=depot[5] * SCALE,
            )
        ],
        distance_matrices=[matrix],  # type: ignore[list-item]
        duration_matrices=[matrix],  # type: ignore[list-item]
    )


def route_distance(instance: Instance, routes: list[list[int]]) -> float:
    """Total truncated distance of `routes` (client numbers), recomputed from coordinates."""
    total = 0
    for route in routes:
        path = [0, *route, 0]
        for a, b in itertools.pairwise(path):
            (_, xa, ya, *_), (_, xb, yb, *_) = instance.rows[a], instance.rows[b]
            total += math.floor(math.hypot(xa - xb, ya - yb) * SCALE + 1e-9)
    return total / SCALE
