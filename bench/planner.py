"""Visit planner benchmark: PyVRP on Solomon VRPTW, and on a generated Makassar clinic day.

    python bench/planner.py [--quick] [--seed N]

1. Solomon (read from ../shared/bench-data/solomon; skipped with a message when absent):
   all of R1 (12), RC1 (8) and C101–C104, 10 s each, through the planner's own PyVRP
   interface (`run_pyvrp`). Compared with the *min-distance* best-known results of bks.csv
   (distances truncated to one decimal, proven optima) — not the fewest-vehicles-first ones.
2. A generated day at Puskesmas Kassi-Kassi (10 nurses, 120 visits, skills, windows,
   breaks, urgent and optional visits, preferred nurses) through `solve()`, at 1 s and 5 s,
   side by side with a 60 s run as the baseline (ratios to it). Every plan goes through the
   independent checker.

Prints a table and writes it as markdown to bench/results/planner.md (git-ignored).
`--quick` runs three Solomon instances at 2 s and the day at 1 s / 2 s against 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
from collections import Counter
from importlib.metadata import version
from pathlib import Path

from planner_makassar import makassar_day
from planner_solomon import read_bks, read_instance, route_distance, to_problem_data

from scheduler.planner.checker import check_plan
from scheduler.planner.solver import run_pyvrp, solve
from scheduler.planner.travel import travel_matrix

ROOT = Path(__file__).resolve().parents[1]
SOLOMON = ROOT.parent / "shared" / "bench-data" / "solomon"
RESULTS = ROOT / "bench" / "results" / "planner.md"

FULL_SET = (
    [f"R1{i:02d}" for i in range(1, 13)]
    + [f"RC1{i:02d}" for i in range(1, 9)]
    + [f"C1{i:02d}" for i in range(1, 5)]
)
QUICK_SET = ["R101", "RC101", "C101"]


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def bench_solomon(names: list[str], seconds: float, seed: int) -> str:
    if not (SOLOMON / "bks.csv").is_file():
        message = f"Solomon benchmark skipped: {SOLOMON} not found (see ../shared/README.md)."
        print(message, flush=True)
        return message
    bks = read_bks(SOLOMON / "bks.csv")
    rows, gaps = [], []
    for name in names:
        instance = read_instance(SOLOMON / "instances" / f"{name}.txt")
        run = run_pyvrp(to_problem_data(instance), time_limit_s=seconds, seed=seed)
        solution = run.solution
        routes = [
            [activity.idx + 1 for activity in r.schedule() if activity.is_client()]
            for r in solution.routes()
        ]
        distance = route_distance(instance, routes)
        best = bks[name]
        gap = 100 * (distance - best.distance) / best.distance
        gaps.append(gap)
        rows.append(
            [
                name,
                f"{distance:.1f}",
                f"{best.distance:.1f}",
                f"{gap:+.2f}%",
                str(solution.num_routes()),
                str(best.vehicles),
                "yes" if solution.is_feasible() else "NO",
                f"{run.iterations}",
            ]
        )
        print(f"  {name}: {distance:.1f} vs {best.distance:.1f} ({gap:+.2f}%)", flush=True)
    header = ["instance", "distance", "BKS", "gap", "vehicles", "BKS veh.", "feasible", "iters"]
    summary = (
        f"Mean gap {sum(gaps) / len(gaps):+.2f}%, worst {max(gaps):+.2f}%, "
        f"at BKS (gap < 0.05%): {sum(g < 0.05 for g in gaps)}/{len(gaps)}."
    )
    return (
        f"### Solomon VRPTW, {seconds:g} s per instance, seed {seed}\n\n"
        "Objective: total distance, Euclidean distances truncated to one decimal (×10 to "
        "integers for PyVRP), vehicles free (up to the instance's fleet); compared with the "
        "`min_distance_trunc1` best-known (proven optimal) results of bks.csv, not with the "
        "fewest-vehicles-first `hierarchical_exact` ones.\n\n"
        f"{table(header, rows)}\n\n{summary}\n"
    )


def bench_makassar(limits: list[float], baseline_s: float, seed: int) -> str:
    request = makassar_day(seed=1)
    matrix = travel_matrix(request)
    runs = {}
    for seconds in [*limits, baseline_s]:
        plan = solve(request, matrix, time_limit_s=seconds, seed=seed)
        violations = check_plan(request, plan, matrix)
        runs[seconds] = (plan, violations)
        print(
            f"  {seconds:g} s: travel {plan.totals.travel_s} s, "
            f"unassigned {plan.totals.unassigned}, objective {plan.totals.objective:.0f}, "
            f"violations {len(violations)}",
            flush=True,
        )
    base = runs[baseline_s][0].totals
    rows = []
    for seconds in [*limits, baseline_s]:
        plan, violations = runs[seconds]
        totals = plan.totals
        reasons = Counter(u.reason for u in plan.unassigned)
        why = ", ".join(f"{k} {v}" for k, v in sorted(reasons.items()))
        rows.append(
            [
                f"{seconds:g} s",
                f"{totals.assigned}",
                f"{totals.unassigned} ({why})" if why else "0",
                f"{totals.urgent_unassigned}",
                f"{totals.travel_s}",
                f"{totals.travel_s / base.travel_s:.3f}",
                f"{totals.objective:.0f}",
                f"{totals.objective / base.objective:.3f}",
                f"{plan.solver.iterations}",
                "none" if not violations else str(len(violations)),
            ]
        )
    header = [
        "limit",
        "assigned",
        "unassigned (reasons)",
        "urgent left",
        "travel s",
        "travel ratio",
        "objective",
        "obj. ratio",
        "iters",
        "checker",
    ]
    skills = Counter("+".join(sorted(v.skills)) for v in request.visits)
    return (
        f"### Makassar day: {len(request.nurses)} nurses, {len(request.visits)} visits, "
        f"seed {seed}, baseline {baseline_s:g} s\n\n"
        "Generated around Puskesmas Kassi-Kassi (−5.158, 119.446), visits within 4 km; "
        "great-circle × 1.3 at 20 km/h; visit skills "
        f"{', '.join(f'{k} {v}' for k, v in sorted(skills.items()))}; "
        "8 full-day nurses with a 30 min break, 2 half-day; default weights "
        "(travel 1, balance 1, continuity 600). Ratios are to the baseline row; the "
        "objective excludes the prizes of unassigned visits, so compare it only between rows "
        "with the same unassigned counts.\n\n"
        f"{table(header, rows)}\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    names, seconds = (QUICK_SET, 2.0) if args.quick else (FULL_SET, 10.0)
    limits, baseline = ([1.0, 2.0], 10.0) if args.quick else ([1.0, 5.0], 60.0)

    header = (
        f"## Planner benchmark ({'quick' if args.quick else 'full'}), "
        f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}\n\n"
        f"PyVRP {version('pyvrp')}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs ({platform.machine()}). Command: "
        f"`python bench/planner.py{' --quick' if args.quick else ''}`.\n"
    )
    print(header, flush=True)
    print("Solomon:", flush=True)
    solomon = bench_solomon(names, seconds, args.seed)
    print("Makassar day:", flush=True)
    makassar = bench_makassar(limits, baseline, args.seed)
    report = f"{header}\n{solomon}\n{makassar}"
    print()
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(f"written to {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
