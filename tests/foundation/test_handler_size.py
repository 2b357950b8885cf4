"""The issue rule for handlers: parse the update, authorise, call one service, render the reply —
at most MAX_BODY lines of body each (docstring excluded, first statement to last)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ROOT / "bot" / "handlers"
MAX_BODY = 25
# {"file.py:function": length}: may only shrink; empty is the goal.
ALLOWANCE: dict[str, int] = {}


def _body_length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = node.body
    if (
        len(body) > 1
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    last = body[-1]
    return (last.end_lineno or last.lineno) - body[0].lineno + 1


def body_lengths() -> dict[str, int]:
    """Every function (methods and nested ones too) under bot/handlers, by file:name."""
    found: dict[str, int] = {}
    for path in sorted(HANDLERS.rglob("*.py")):
        rel = path.relative_to(HANDLERS).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[f"{rel}:{node.name}"] = max(
                    _body_length(node), found.get(f"{rel}:{node.name}", 0)
                )
    return found


def test_handlers_are_thin() -> None:
    """Every offender at once, longest first, so one run shows all the work to do."""
    lengths = body_lengths()
    offenders = sorted(
        ((n, name) for name, n in lengths.items() if n > MAX_BODY and n > ALLOWANCE.get(name, 0)),
        reverse=True,
    )
    if offenders:
        listed = "\n".join(f"  {name}:{n}" for n, name in offenders)
        pytest.fail(f"{len(offenders)} handler functions over {MAX_BODY} lines:\n{listed}", False)


def test_allowance_only_shrinks() -> None:
    """An allowance entry goes once its function is gone or within the limit; it never grows."""
    lengths = body_lengths()
    stale = [
        f"  {name}: allowed {allowed}, now {lengths.get(name, 'gone')}"
        for name, allowed in ALLOWANCE.items()
        if lengths.get(name, 0) <= MAX_BODY or lengths[name] > allowed
    ]
    if stale:
        pytest.fail("update ALLOWANCE (it may only shrink):\n" + "\n".join(stale), False)
