"""Intents in the outbox: rendered at send time, in the recipient's language of that moment."""

from __future__ import annotations

import ast
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.templates import TEMPLATES
from db.intents import IntentError, decode_params, encode_params
from db.models import Account, OutboxMessage, StoredFile
from db.services import outbox
from db.types import utcnow
from tests.delivery.conftest import StartApp
from tests.delivery.helpers import outbox_rows, person, settled, wait_until

ROOT = Path(__file__).resolve().parents[2]


async def _menus_sent(hc: Any) -> None:
    async def done() -> bool:
        return await settled(hc.db, [r.id for r in await outbox_rows(hc.db)])

    await wait_until(done)


async def test_a_language_switch_between_queueing_and_sending_gives_the_new_language(
    start_app: StartApp, client: Any
) -> None:
    hc = await start_app()
    who = await person(hc, client, "Daeng", ("patient",), language="id")
    await _menus_sent(hc)
    async with hc.db.transaction() as s:
        row = await outbox.tell(
            s,
            chat_id=who.user.id,
            template="patient.conversation_expired",
            params={"flow": "p.book"},
            account_id=who.account.id,
            not_before=utcnow() + timedelta(seconds=2),
        )
        assert row is not None
        row_id = row.id
    async with hc.db.transaction() as s:
        account = await s.get(Account, who.account.id)
        assert account is not None
        account.language = "en"
        # Still waiting when the switch commits: the relay has not rendered it yet.
        assert (await s.get(OutboxMessage, row_id)).status == "pending"  # type: ignore[union-attr]

    async def sent() -> bool:
        return await settled(hc.db, [row_id])

    await wait_until(sent)
    (row,) = await outbox_rows(hc.db, [row_id])
    assert row.status == "sent" and row.payload is None  # the intent, never a rendered copy
    texts = [m.plain_text for m in await client.messages(who.user.id)]
    assert texts[-1].startswith("The earlier conversation ended"), texts[-1]


async def test_an_intent_that_cannot_render_fails_and_tells_the_heads(
    start_app: StartApp, client: Any
) -> None:
    hc = await start_app()
    who = await person(hc, client, "Nur", ("patient",))
    await _menus_sent(hc)
    async with hc.db.transaction() as s:
        row = await outbox.tell(
            s, chat_id=who.user.id, template="patient.conversation_expired", params={}
        )
        assert row is not None
        row_id = row.id

    async def done() -> bool:
        return await settled(hc.db, [row_id])

    await wait_until(done)
    (row,) = await outbox_rows(hc.db, [row_id])
    assert row.status == "failed" and "render" in (row.last_error or "")


async def test_a_file_is_erased_once_its_message_is_sent(start_app: StartApp, client: Any) -> None:
    hc = await start_app()
    who = await person(hc, client, "Ani", ("patient",))
    await _menus_sent(hc)
    async with hc.db.transaction() as s:
        row = await outbox.queue(
            s,
            chat_id=who.user.id,
            method="sendDocument",
            payload={
                "chat_id": who.user.id,
                "__attachment__": {"field": "document", "filename": "data.json"},
            },
            attachment=b'{"name": "Ani"}',
            account_id=who.account.id,
        )
        assert row is not None and row.file_id is not None
        assert row.attachment is None  # the bytes live in stored_files, not in the outbox
        row_id = row.id

    async def done() -> bool:
        return await settled(hc.db, [row_id])

    await wait_until(done)
    (row,) = await outbox_rows(hc.db, [row_id])
    assert row.status == "sent" and row.file_id is None
    async with hc.db.read() as s:
        assert await s.scalar(select(func.count(StoredFile.id))) == 0


def test_parameters_round_trip_with_dates_and_times() -> None:
    params = {
        "day": date(2026, 12, 1),
        "at": time(9, 30),
        "when": datetime(2026, 12, 1, 1, 30),
        "stops": [{"code": "AB12CD", "n": 1, "late": False}],
        "none": None,
    }
    assert decode_params(encode_params(params)) == params
    with pytest.raises(IntentError):
        encode_params({"visit": object()})


def _strings(expr: ast.expr | None) -> set[str]:
    """String constants an expression can evaluate to (`a if c else b`, `x or y` included)."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _strings(expr.body) | _strings(expr.orelse)
    if isinstance(expr, ast.BoolOp):
        return set().union(*(_strings(v) for v in expr.values))
    return set()


def _template_positions(trees: list[ast.AST]) -> dict[str, int]:
    """Functions taking a `template` parameter positionally: name → its index."""
    positions: dict[str, int] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
                if "template" in names:
                    positions[node.name] = names.index("template")
    return positions


def _template_keys_in(tree: ast.AST, positions: dict[str, int] | None = None) -> set[str]:
    """Keys given as `template=...`, positionally to a function with a `template` parameter,
    or assigned to a variable named `template` (a key chosen in a branch counts too)."""
    positions = positions or {}
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "template":
            keys |= _strings(node.value)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "template" for t in targets):
                keys |= _strings(node.value)
        elif isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            at = positions.get(name)
            if at is not None and len(node.args) > at:
                keys |= _strings(node.args[at])
    return keys


def test_template_keys_are_found_in_branches_too() -> None:
    tree = ast.parse(
        "template = 'a.b' if x else 'a.c'\n"
        "if y:\n    template = 'a.d'\n"
        "tell(s, template=template)\n"
        "tell(s, template='a.e' if z else 'a.f')\n"
        "def tell_heads(session, clinic, template, params): ...\n"
        "m.tell_heads(s, 1, 'a.g', {})\n"
    )
    keys = _template_keys_in(tree, _template_positions([tree]))
    assert keys == {"a.b", "a.c", "a.d", "a.e", "a.f", "a.g"}


def test_every_intent_the_services_record_has_a_template() -> None:
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in sorted((ROOT / "db").rglob("*.py"))]
    positions = _template_positions(trees)
    used: set[str] = set()
    for tree in trees:
        used |= _template_keys_in(tree, positions)
    assert used, "no service records an intent"
    assert used <= set(TEMPLATES), sorted(used - set(TEMPLATES))
    assert set(TEMPLATES) <= used, f"templates no service records: {sorted(set(TEMPLATES) - used)}"
