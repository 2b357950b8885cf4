"""The search settings of `run_pyvrp` (late-acceptance history, perturbation size) reach PyVRP."""

from __future__ import annotations

import random

import pytest
import pyvrp

from scheduler.planner.solver import HISTORY_LENGTH, MAX_PERTURBATIONS, run_pyvrp


def _instance(seed: int = 7, clients: int = 30) -> pyvrp.ProblemData:
    """A small random CVRP: 3 vehicles of capacity 12, unit demands, Manhattan distances."""
    rng = random.Random(seed)
    points = [(0, 0)]
    points += [(rng.randrange(-500, 500), rng.randrange(-500, 500)) for _ in range(clients)]
    matrix = [[abs(a[0] - b[0]) + abs(a[1] - b[1]) for b in points] for a in points]
    return pyvrp.ProblemData(
        locations=[pyvrp.Location(x=x, y=y) for x, y in points],
        clients=[pyvrp.Client(location=i, delivery=[1]) for i in range(1, len(points))],
        depots=[pyvrp.Depot(location=0)],
        vehicle_types=[pyvrp.VehicleType(num_available=3, capacity=[12])],
        distance_matrices=[matrix],  # type: ignore[list-item]
        duration_matrices=[matrix],  # type: ignore[list-item]
    )


@pytest.mark.parametrize(
    ("history_length", "max_perturbations", "stuck"),
    [
        (300, 25, False),  # PyVRP's defaults
        (HISTORY_LENGTH, MAX_PERTURBATIONS, False),  # the day's settings
        (10, 5, False),
        (50, 0, True),  # no kicks: the search never leaves its first local optimum
    ],
)
def test_search_settings(history_length: int, max_perturbations: int, stuck: bool) -> None:
    data = _instance()

    def run(iterations: int) -> pyvrp.Solution:
        result = run_pyvrp(
            data,
            max_iterations=iterations,
            seed=3,
            history_length=history_length,
            max_perturbations=max_perturbations,
        )
        assert result.iterations == iterations
        return result.solution

    first, later = run(1), run(300)
    assert later.is_feasible()
    assert later.distance() <= first.distance()
    assert (later.distance() == first.distance()) is stuck


def test_history_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="history_length"):
        run_pyvrp(_instance(), max_iterations=1, history_length=0)
