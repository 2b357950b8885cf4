"""The runner of `python bench/planner_makassar.py --rich` (see that script's docstring)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from scheduler.planner.checker import check_plan
from scheduler.planner.crews import crews_for, triage
from scheduler.planner.model import Plan, PlanRequest, TravelMatrix, Weights
from scheduler.planner.profiles import group_profiles, profile_key
from scheduler.planner.solver import solve
from scheduler.planner.travel import travel_matrix

SOLVER_SEED = 1
WEIGHT_SETS = [
    ("balance and continuity 0 (the target)", Weights(travel=1.0, balance=0.0, continuity=0.0)),
    ("default weights (travel 1, balance 1, continuity 600)", Weights()),
]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def profile_count(request: PlanRequest, matrix: TravelMatrix) -> int:
    """How many routing profiles the shared model builds for this day."""
    where = {str(v.id): i + 1 for i, v in enumerate(request.visits)}
    crews = crews_for(request, matrix.durations_s, where)
    candidates, _ = triage(request, crews, matrix.durations_s, where)
    continuity = request.weights.continuity > 0
    keys = [
        profile_key(k, crew.nurse.id, candidates, where, continuity=continuity)
        for k, crew in enumerate(crews)
        if crew.active
    ]
    return len(group_profiles(keys)[1])


def _run(request: PlanRequest, matrix: TravelMatrix, seconds: float, share: bool) -> Plan:
    plan = solve(request, matrix, time_limit_s=seconds, seed=SOLVER_SEED, share_profiles=share)
    violations = check_plan(request, plan, matrix)
    if violations:
        raise SystemExit(f"checker: {[str(v) for v in violations]}")
    return plan


def _rate(plan: Plan) -> float:
    return plan.solver.iterations / max(plan.solver.runtime_s, 1e-9)


def run_weights(
    make_day: Callable[..., PlanRequest],
    seeds: Sequence[int],
    short: float,
    long: float,
    weights: Weights,
) -> tuple[str, list[float]]:
    rows, ratios, speedups = [], [], []
    for seed in seeds:
        request = make_day(seed, weights)
        matrix = travel_matrix(request)
        old = _run(request, matrix, short, share=False)
        fast = _run(request, matrix, short, share=True)
        base = _run(request, matrix, long, share=True)
        ratio = fast.totals.travel_s / base.totals.travel_s
        obj_ratio = fast.totals.objective / base.totals.objective
        ratios.append(ratio if weights.balance == weights.continuity == 0 else obj_ratio)
        speedups.append(_rate(fast) / _rate(old))
        rows.append(
            [
                str(seed),
                f"{len(request.nurses)} → {profile_count(request, matrix)}",
                f"{fast.totals.unassigned} / {base.totals.unassigned} / {old.totals.unassigned}",
                f"{fast.totals.travel_s}",
                f"{base.totals.travel_s}",
                f"{ratio:.4f}",
                f"{obj_ratio:.4f}",
                f"{old.totals.travel_s / base.totals.travel_s:.4f}",
                f"{_rate(old):.0f}",
                f"{_rate(fast):.0f}",
                f"{_rate(base):.0f}",
                "none",
            ]
        )
        print(f"  seed {seed}: " + ", ".join(rows[-1][1:]), flush=True)
    header = [
        "seed",
        "profiles",
        f"unassigned {short:g} s / {long:g} s / old {short:g} s",
        f"travel {short:g} s",
        f"travel {long:g} s",
        "travel ratio",
        "objective ratio",
        f"old {short:g} s travel ratio",
        f"it/s old {short:g} s",
        f"it/s shared {short:g} s",
        f"it/s shared {long:g} s",
        "checker",
    ]
    summary = (
        f"Mean {short:g} s / {long:g} s travel ratio (shared profiles): "
        f"{np.mean([float(r[5]) for r in rows]):.4f}; objective ratio "
        f"{np.mean([float(r[6]) for r in rows]):.4f}; old model at {short:g} s: "
        f"{np.mean([float(r[7]) for r in rows]):.4f}. Iterations per second, shared / old: "
        f"{np.mean(speedups):.2f}× (mean over seeds)."
    )
    return f"{table(header, rows)}\n\n{summary}\n", ratios


def run_rich(
    make_day: Callable[..., PlanRequest], seeds: Sequence[int], short: float, long: float
) -> str:
    parts = [
        "Ratios are to the shared model's own long run, same day, same solver seed "
        f'({SOLVER_SEED}). "old" = one routing profile per nurse (`share_profiles=False`), '
        "run at the short limit for its iterations per second. Every plan passed the checker "
        "(the script stops on any violation).\n"
    ]
    for title, weights in WEIGHT_SETS:
        print(f"{title}:", flush=True)
        body, _ = run_weights(make_day, seeds, short, long, weights)
        parts.append(f"### {title}\n\n{body}")
    return "\n".join(parts)
