"""Crash safety in webhook mode: a real `homecare run` is SIGKILLed 5 times while the sandbox
pushes updates to its webhook, then restarted.

Each update is committed to the inbox before the endpoint answers 200, so one the sandbox did
not get a 2xx for is posted again (and ignored if it was stored). Afterwards every update is
handled once and answered; a reply sent in the instant before a kill may repeat once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from db import migrate
from db.models import InboxUpdate, OutboxMessage
from db.session import Database
from sandbox.server import SandboxServer
from tests.botproc import BotProcess, repeated_replies, write_config
from tests.ops.webhook_support import SECRET, free_port, webhook_url

USERS = 30
COMMANDS = ("/start", "/help", "/bahasa")
KILLS = 5


@pytest.fixture
async def sandbox() -> Any:
    server = SandboxServer(webhook_backoff_s=0.05, webhook_backoff_cap_s=0.5)
    await server.start()
    yield server
    await server.stop()


async def _counts(db: Database) -> tuple[int, int]:
    async with db.read() as s:
        done = await s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "done")
        )
        unsent = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending")))
        )
    return int(done or 0), int(unsent or 0)


async def _messages_at_risk(db: Database) -> int:
    async with db.read() as s:
        n = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == "sending", OutboxMessage.method == "sendMessage")
        )
    return int(n or 0)


@pytest.mark.slow
async def test_sigkill_in_webhook_mode_loses_nothing_and_repeats_nothing(
    sandbox: SandboxServer, client: Any, empty_database: Database, tmp_path: Path
) -> None:
    db = empty_database
    await migrate.upgrade(db.engine)
    port = free_port()
    cfg = write_config(
        tmp_path / "config.toml",
        base_url=sandbox.bot_api_base_url,
        database_url=db.url,
        web_port=port,
    )
    # The crash tests' config, switched to webhook mode with the console on a known port.
    text = cfg.read_text(encoding="utf-8").replace(
        "[telegram]\n",
        f'[telegram]\nmode = "webhook"\nwebhook_url = "{webhook_url(port)}"\n'
        f'secret_token = "{SECRET}"\n',
    )
    # The relay's defaults (8 requests in flight): it keeps only as many *messages* in flight
    # as its pace needs, so a kill repeats at most the one being marked.
    cfg.write_text(text, encoding="utf-8")
    bot = BotProcess(cfg, tmp_path / "bot.log")

    users = [await client.user(f"keluarga{i:02d}") for i in range(USERS)]
    expected = USERS * len(COMMANDS)
    rng = random.Random(20261207)

    sends = [(u, command) for command in COMMANDS for u in users]
    wave = len(sends) // KILLS

    async def push(part: list[Any]) -> None:  # the families keep writing around each kill
        for u, command in part:
            await u.send(command)
            await asyncio.sleep(rng.uniform(0.03, 0.12))

    async def serving(since: int) -> None:  # until this run's endpoint took an update
        for _ in range(600):
            if sandbox.world.webhook.delivered > since:
                return
            await asyncio.sleep(0.05)
        raise AssertionError((tmp_path / "bot.log").read_text()[-3000:])

    kills_while_working = 0
    at_kill: list[int] = []  # messages sent and not yet marked when each kill hit
    for k in range(KILLS):
        before = sandbox.world.webhook.delivered
        await bot.start()
        pushing = asyncio.create_task(push(sends[k * wave : (k + 1) * wave]))
        # Start-up takes seconds; kill only once Telegram's posts are being answered.
        await serving(before)
        await asyncio.sleep(rng.uniform(0.1, 1.0))
        await bot.kill()
        at_kill.append(await _messages_at_risk(db))
        await pushing
        done, unsent = await _counts(db)
        if done < (k + 1) * wave or unsent:
            kills_while_working += 1
    await push(sends[KILLS * wave :])

    await bot.start()
    # Serving first: a SIGTERM during the interpreter's start-up (before the bot's handler is
    # installed) would kill it, and everything may already be done by the last kill.
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    break
            await asyncio.sleep(0.1)
    for _ in range(900):
        if await _counts(db) == (expected, 0):
            break
        await asyncio.sleep(0.1)
    log = (tmp_path / "bot.log").read_text()[-3000:]
    assert await bot.stop() == 0, log
    assert kills_while_working >= 2, "the kills did not land while updates were being handled"
    info = sandbox.world.webhook
    assert info.url == webhook_url(port) and not sandbox.world.updates, log

    async with db.read() as s:
        inbox = Counter(await s.scalars(select(InboxUpdate.status)))
        payloads = {
            uid: p["message"]["text"]
            for uid, p in (await s.execute(select(InboxUpdate.update_id, InboxUpdate.payload)))
        }
        reply_rows = Counter(
            await s.scalars(
                select(OutboxMessage.source_update_id).where(OutboxMessage.method == "sendMessage")
            )
        )
    assert inbox == {"done": expected}, inbox
    assert set(reply_rows) == set(payloads)
    for command in COMMANDS:
        counts = {reply_rows[uid] for uid, t in payloads.items() if t == command}
        assert len(counts) == 1 and counts != {0}, (command, counts)
    assert "getUpdates" not in sandbox.snapshot_stats()["methods"]

    repeats = await repeated_replies(db, users)
    print(
        f"kills while working: {kills_while_working}/{KILLS}, messages at risk at each kill: "
        f"{at_kill}, repeated replies: {repeats}"
    )
    assert repeats <= sum(at_kill), (repeats, at_kill)  # only what a kill left in flight
    assert repeats <= KILLS, f"{repeats} repeated replies for {KILLS} kills"
