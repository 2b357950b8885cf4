"""Crash safety of intake: the bot is SIGKILLed at random moments while it works through a batch.

After each restart every update is answered — none lost — and each effect in the database happens
once. A reply sent in the instant before a kill may repeat once; nothing more.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from db import migrate
from db.models import Account, InboxUpdate, OutboxMessage
from db.session import Database
from tests.botproc import BotProcess, repeated_replies, write_config

USERS = 40
COMMANDS = ("/start", "/help", "/bahasa")  # 120 updates, each with a reply and DB effects
KILLS = 5


async def _all_done(db: Database, expected: int) -> bool:
    async with db.read() as s:
        done = await s.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.status == "done")
        )
        unsent = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_(("pending", "sending")))
        )
    return done == expected and unsent == 0


@pytest.mark.slow
async def test_sigkill_while_working_loses_nothing_and_repeats_nothing(
    sandbox: Any, client: Any, empty_database: Database, tmp_path: Path
) -> None:
    db = empty_database
    await migrate.upgrade(db.engine)
    cfg = write_config(
        tmp_path / "config.toml", base_url=sandbox.bot_api_base_url, database_url=db.url
    )
    bot = BotProcess(cfg, tmp_path / "bot.log")

    users = [await client.user(f"pasien{i:02d}") for i in range(USERS)]
    for command in COMMANDS:
        for u in users:
            await u.send(command)
    expected = USERS * len(COMMANDS)

    rng = random.Random(20261128)
    kills_while_working = 0
    for _ in range(KILLS):
        await bot.start()
        # Start-up takes about a second; kill somewhere between "just polled" and "mid-batch".
        await asyncio.sleep(rng.uniform(0.8, 2.5))
        await bot.kill()
        if not await _all_done(db, expected):
            kills_while_working += 1

    await bot.start()
    for _ in range(600):
        if await _all_done(db, expected):
            break
        await asyncio.sleep(0.1)
    assert await bot.stop() == 0, (tmp_path / "bot.log").read_text()[-3000:]
    assert kills_while_working >= 2, "the kills did not land while the batch was in progress"

    # Every update handled exactly once, and each produced its replies once: every update of
    # the same command has the same number of reply rows (a redone turn would add more).
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
        accounts = await s.scalar(select(func.count()).select_from(Account))
    assert inbox == {"done": expected}
    assert set(reply_rows) == set(payloads)
    for command in COMMANDS:
        counts = {reply_rows[uid] for uid, text in payloads.items() if text == command}
        assert len(counts) == 1 and counts != {0}, (command, counts)
    assert accounts == USERS

    # Every person got every answer; a repeat only where a kill hit between send and mark.
    repeats = await repeated_replies(db, users)
    print(f"kills while working: {kills_while_working}/{KILLS}, repeated replies: {repeats}")
    assert repeats <= KILLS, f"{repeats} repeated replies for {KILLS} kills"
    # Nothing was left unconfirmed at Telegram: a fresh poll would see no old updates.
    assert await client.pending_updates() == []
