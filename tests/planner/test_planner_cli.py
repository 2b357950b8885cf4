"""`homecare plan`: exit 0 with the plan on stdout; exit 2 with one line naming the problem."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from scheduler.planner.cli import main
from scheduler.planner.io import parse_plan_request, plan_from_json
from tests.planner.support import assert_sound
from tests.planner.test_planner_io import base


def write(tmp_path: Path, obj: Any) -> str:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return str(path)


def test_plan_printed_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--input", write(tmp_path, base()), "--max-iterations", "200", "--seed", "3"])
    out, err = capsys.readouterr()
    assert code == 0, err
    plan = plan_from_json(json.loads(out))
    assert plan.solver.seed == 3 and plan.solver.max_iterations == 200
    assert plan.totals.visits == 4
    assert_sound(parse_plan_request(base()), plan)


def test_same_seed_and_iterations_same_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, base())
    plans = []
    for _ in range(2):
        assert main(["--input", path, "--max-iterations", "150", "--seed", "1"]) == 0
        out = json.loads(capsys.readouterr().out)
        del out["solver"]["runtime_s"]
        plans.append(out)
    assert plans[0] == plans[1]


def test_reads_stdin(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(base())))
    assert main(["--input", "-", "--max-iterations", "100", "--check"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["totals"]["visits"] == 4
    assert err == ""


def _bad_window() -> dict[str, Any]:
    obj = base()
    obj["visits"][3]["window"] = ["10:00", "09:00"]
    return obj


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        ([], _bad_window(), "visits[3].window: end before start"),
        ([], "{not json", "input: not valid JSON (line 1, column 2)"),
        ([], [], "request: must be a JSON object"),
        (["--time-limit", "0"], base(), "homecare plan: argument --time-limit: must be a positive"),
        (["--max-iterations", "x"], base(), "homecare plan: argument --max-iterations: invalid"),
        (["--frobnicate"], base(), "homecare plan: unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    content: Any,
    message: str,
) -> None:
    code = main(["--input", write(tmp_path, content), *args])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith(message), err


def test_missing_input_option_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "the following arguments are required: --input" in capsys.readouterr().err
    assert main(["--input", str(tmp_path / "nope.json")]) == 2
    assert capsys.readouterr().err.startswith(f"input: cannot read {tmp_path / 'nope.json'}")


@pytest.mark.slow
def test_module_runs_as_a_process(tmp_path: Path) -> None:
    """What the product CLI delegates to, in a real process: no traceback, right exit codes."""
    command = [
        sys.executable,
        "-m",
        "scheduler.planner.cli",
        "--input",
        "-",
        "--max-iterations",
        "50",
    ]
    good = subprocess.run(
        command, input=json.dumps(base()), capture_output=True, text=True, timeout=120
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["totals"]["visits"] == 4
    bad = subprocess.run(
        command, input=json.dumps(_bad_window()), capture_output=True, text=True, timeout=120
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr == "visits[3].window: end before start\n"
