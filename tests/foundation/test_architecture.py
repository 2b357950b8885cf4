"""The house rules that code review forgets: import contracts (pyproject [tool.importlinter])
and the size of a source file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 600
SOURCE_DIRS = ("bot", "db", "scheduler", "sandbox", "homecare", "bench", "tests")
# The first migration is the whole initial schema, written once and never edited.
EXEMPT = re.compile(r"^db/migrations/versions/0001_")


def test_import_contracts_are_kept() -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command as m; sys.exit(m())",
            "--no-cache",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = run.stdout + run.stderr
    assert "Contracts:" in out, f"import-linter did not run:\n{out}"
    broken = re.findall(r"^(.+) BROKEN$", out, flags=re.MULTILINE)
    details = out.split("Broken contracts", 1)[-1] if broken else out
    if run.returncode != 0 or broken:
        pytest.fail("broken import contracts: " + "; ".join(broken) + "\n" + details, False)


def test_no_source_file_is_over_the_limit() -> None:
    """Every offender at once, largest first, so one run shows all the work to do."""
    offenders: list[tuple[int, str]] = []
    for top in SOURCE_DIRS:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if EXEMPT.match(rel):
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                offenders.append((lines, rel))
    offenders.sort(reverse=True)
    if offenders:
        listed = "\n".join(f"  {rel}: {n}" for n, rel in offenders)
        pytest.fail(f"{len(offenders)} files over {MAX_LINES} lines:\n{listed}", False)
