"""Fault injection: the sandbox answers 30% of sendMessage calls with 429, 500, a stall past the
timeout (after delivering) or a connection reset. Everything arrives in the end, in order per
chat, with no more copies than the uncertain outcomes allow; the relay never stops."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from db.services import delivery as store
from homecare.config import Config
from tests.delivery.conftest import StartApp
from tests.delivery.helpers import copies, outbox_rows, queue_texts, settled, wait_until

CHATS = 50
PER_CHAT = 4


def _each(share: float, kinds: int) -> list[float]:
    """Probabilities for `kinds` rules tried in order so that each fires on `share` of calls."""
    probabilities, left = [], 1.0
    for _ in range(kinds):
        probabilities.append(share / left)
        left -= share
    return probabilities


async def test_thirty_percent_faults_everything_delivered_relay_keeps_going(
    start_app: StartApp, client: Any, make_config: Callable[..., Config], sandbox: Any
) -> None:
    config = make_config(sandbox)
    config = config.replace(telegram=dataclasses.replace(config.telegram, request_timeout_s=1.0))
    hc = await start_app(config)
    users = [await client.user(f"f{i:02d}", started=True) for i in range(CHATS)]
    p = _each(0.075, 4)
    await client.set_faults(
        [
            {"kind": "retry_after", "retry_after": 1, "probability": p[0]},
            {"kind": "server_error", "probability": p[1]},
            {"kind": "stall", "stall_seconds": 2.0, "after_delivery": True, "probability": p[2]},
            {"kind": "reset", "probability": p[3]},
        ],
        seed=7,
    )
    texts = [(u.id, f"{u.name} pesan {n}") for n in range(PER_CHAT) for u in users]
    ids = await queue_texts(hc, texts)

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=180, every=0.5)

    stats = (await client.stats())["methods"]["sendMessage"]
    for outcome in (
        "fault_retry_after",
        "fault_server_error",
        "fault_stall_after_delivery",
        "fault_reset",
    ):
        assert stats.get(outcome, 0) > 0, stats
    calls = sum(stats.values())
    faults = sum(v for k, v in stats.items() if k.startswith("fault_"))
    assert 0.2 < faults / calls < 0.4, stats

    rows = {r.payload["text"]: r for r in await outbox_rows(hc.db, ids)}
    assert {r.status for r in rows.values()} == {"sent"}
    seen = await copies(client, [u.id for u in users])
    for text, row in rows.items():
        # Never none; a second copy only where an attempt's outcome was unknown.
        assert 1 <= seen[text] <= 1 + row.uncertain, (text, seen[text], row.uncertain)
    assert sum(seen[t] - 1 for t in rows) <= sum(r.uncertain for r in rows.values())
    for u in users:
        got = [m.plain_text for m in await client.messages(u.id)]
        first_seen = sorted(set(got), key=got.index)
        assert first_seen == [f"{u.name} pesan {n}" for n in range(PER_CHAT)]

    # The relay is still alive and fast once the faults stop.
    await client.clear_faults()
    (late,) = await queue_texts(hc, [(users[0].id, "after the storm")])

    async def late_sent() -> bool:
        return await settled(hc.db, [late])

    await wait_until(late_sent, timeout=10)


async def test_database_errors_do_not_stop_the_relay(
    start_app: StartApp,
    client: Any,
    make_config: Callable[..., Config],
    sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Reading or claiming rows fails for a while (database restarting): the relay logs, waits
    and carries on; nothing is lost."""
    hc = await start_app(make_config(sandbox))
    u = await client.user("gita", started=True)
    failures = {"due_rows": 3, "claim": 3}
    real_due, real_claim = store.due_rows, store.claim

    async def flaky_due(*args: Any, **kw: Any) -> Any:
        if failures["due_rows"] > 0:
            failures["due_rows"] -= 1
            raise ConnectionError("database restarting")
        return await real_due(*args, **kw)

    async def flaky_claim(*args: Any, **kw: Any) -> Any:
        if failures["claim"] > 0:
            failures["claim"] -= 1
            raise ConnectionError("database restarting")
        return await real_claim(*args, **kw)

    monkeypatch.setattr(store, "due_rows", flaky_due)
    monkeypatch.setattr(store, "claim", flaky_claim)
    ids = await queue_texts(hc, [(u.id, "satu"), (u.id, "dua")])
    hc.relay.wake()  # a full scan too, which fails first

    async def done() -> bool:
        return await settled(hc.db, ids)

    await wait_until(done, timeout=30)
    assert failures == {"due_rows": 0, "claim": 0}
    assert [m.plain_text for m in await client.messages(u.id)] == ["satu", "dua"]
    await asyncio.sleep(0)
    relay_task = next(t for t in hc._tasks if t.get_name() == "outbox-relay")
    assert not relay_task.done()  # still running
