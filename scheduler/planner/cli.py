"""`homecare plan`: plan one clinic day from a JSON request (docs/planning.md).

    homecare plan --input request.json [--time-limit SECONDS] [--seed N] [--max-iterations N]

Prints the plan as JSON on stdout and exits 0. A bad request exits 2 with one line on stderr
naming the field (`visits[3].window: end before start`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

from scheduler.planner.checker import check_plan
from scheduler.planner.io import PlanRequestError, parse_plan_request, plan_to_json
from scheduler.planner.solver import DEFAULT_TIME_LIMIT_S, solve
from scheduler.planner.travel import resolve_travel

EXIT_OK, EXIT_INFEASIBLE_PLAN, EXIT_BAD_REQUEST = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print usage and sys.exit(2)
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog="homecare plan",
        description="Plan a clinic day: assign visits to nurses and order their routes.",
    )
    parser.add_argument("--input", required=True, help="request JSON file, or - for stdin")
    parser.add_argument(
        "--time-limit",
        type=_positive_float,
        default=None,
        metavar="SECONDS",
        help=f"search time (default {DEFAULT_TIME_LIMIT_S:g} s, or none with --max-iterations)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--max-iterations",
        type=_positive_int,
        default=None,
        metavar="N",
        help="stop after N search iterations (with --seed: the same plan every run)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="also run the independent feasibility check; violations go to stderr, exit 1",
    )
    return parser


def _read(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    with open(source, encoding="utf-8") as fh:
        return fh.read()


def _quiet_pyvrp() -> None:
    # PyVRP logs to stdout; stdout carries the plan, so its messages go to stderr instead.
    for handler in logging.getLogger("pyvrp").handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
            handler.setStream(sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run `homecare plan` with `argv` (without the leading "plan"); returns the exit code."""
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"homecare plan: {exc}", file=sys.stderr)
        return EXIT_BAD_REQUEST
    try:
        text = _read(args.input)
    except OSError as exc:
        print(f"input: cannot read {args.input}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_REQUEST
    except UnicodeDecodeError:
        print(f"input: {args.input} is not UTF-8 text", file=sys.stderr)
        return EXIT_BAD_REQUEST
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        print(f"input: not valid JSON (line {exc.lineno}, column {exc.colno})", file=sys.stderr)
        return EXIT_BAD_REQUEST
    try:
        request = parse_plan_request(obj)
    except PlanRequestError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_BAD_REQUEST

    _quiet_pyvrp()
    matrix = asyncio.run(resolve_travel(request))
    time_limit = args.time_limit
    if time_limit is None and args.max_iterations is None:
        time_limit = DEFAULT_TIME_LIMIT_S
    plan = solve(
        request, matrix, time_limit_s=time_limit, max_iterations=args.max_iterations, seed=args.seed
    )
    json.dump(plan_to_json(plan), sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    if args.check:
        violations = check_plan(request, plan, matrix)
        for violation in violations:
            print(f"check: {violation}", file=sys.stderr)
        if violations:
            return EXIT_INFEASIBLE_PLAN
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
