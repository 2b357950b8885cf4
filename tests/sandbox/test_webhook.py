"""The sandbox's webhook delivery: as Telegram does it, over real HTTP to a receiver in the test.

One update at a time in update_id order, the secret in its header, retried (with backoff) on a
non-2xx or a refused connection until delivered, getWebhookInfo telling what went wrong, and
getUpdates refused with 409 while a webhook is set.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from sandbox.client import SandboxClient
from sandbox.server import SandboxServer
from tests.sandbox.helpers import make_bot

SECRET = "s3cret_-token"


@dataclass
class Receiver:
    """A webhook endpoint: answers `statuses` in turn (then 200), records what came and how."""

    statuses: list[int] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[str | None] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0
    delay_s: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            body = json.loads(await request.read())
            self.secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
            status = self.statuses.pop(0) if self.statuses else 200
            if status == 200:
                self.got.append(body)
            return web.Response(status=status)
        finally:
            self.in_flight -= 1


async def serve(receiver: Receiver, port: int = 0) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/telegram/hook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    return runner, int(runner.addresses[0][1])


@pytest.fixture
async def server() -> AsyncIterator[SandboxServer]:
    srv = SandboxServer(webhook_backoff_s=0.02, webhook_backoff_cap_s=0.2)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    async with make_bot(server) as b:
        yield b


async def until(cond: Any) -> None:
    for _ in range(500):  # 10 s
        if cond():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_delivers_one_at_a_time_in_order_with_the_secret(
    server: SandboxServer, api: SandboxClient, bot: Bot
) -> None:
    receiver = Receiver(delay_s=0.01)
    runner, port = await serve(receiver)
    try:
        u = await api.user("ani")
        for i in range(8):
            await u.send(f"pesan {i}")
        await bot.set_webhook(
            f"http://127.0.0.1:{port}/telegram/hook", secret_token=SECRET, max_connections=1
        )
        await until(lambda: len(receiver.got) == 8)
        texts = [g["message"]["text"] for g in receiver.got]
        assert texts == [f"pesan {i}" for i in range(8)]
        ids = [g["update_id"] for g in receiver.got]
        assert ids == sorted(ids)
        assert receiver.secrets == [SECRET] * 8
        assert receiver.most_in_flight == 1
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0 and info.max_connections == 1
        assert info.last_error_message is None
        # Delivered updates are gone: no repeat after the webhook is removed.
        await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()
    finally:
        await runner.cleanup()


async def test_retries_a_non_2xx_until_delivered_and_says_why(
    server: SandboxServer, api: SandboxClient, bot: Bot
) -> None:
    receiver = Receiver(statuses=[500, 403, 500])
    runner, port = await serve(receiver)
    try:
        u = await api.user("budi")
        await u.send("halo")
        await u.send("lagi")
        await bot.set_webhook(f"http://127.0.0.1:{port}/telegram/hook", secret_token=SECRET)
        await until(lambda: len(receiver.got) == 2)
        assert [g["message"]["text"] for g in receiver.got] == ["halo", "lagi"]
        # The same update was posted four times (three refusals), the next only after a 2xx.
        assert len(receiver.secrets) == 5
        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        last_error = "Wrong response from the webhook: 500 Internal Server Error"
        assert info.last_error_message == last_error
        assert info.last_error_date is not None
        stats = server.snapshot_stats()["methods"]["webhook"]
        assert stats == {"delivered": 2, "failed": 3}
    finally:
        await runner.cleanup()


async def test_keeps_updates_while_the_bot_is_down(
    server: SandboxServer, api: SandboxClient, bot: Bot
) -> None:
    with socket.socket() as s:  # a port nobody listens on, yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/telegram/hook", secret_token=SECRET)
    u = await api.user("citra")
    await u.send("satu")
    await u.send("dua")

    async def refused() -> bool:
        info = await bot.get_webhook_info()
        return info.last_error_message == "Connection refused"

    for _ in range(200):
        if await refused():
            break
        await asyncio.sleep(0.02)
    assert await refused()
    assert (await bot.get_webhook_info()).pending_update_count == 2

    receiver = Receiver()
    runner, _ = await serve(receiver, port)
    try:
        await until(lambda: len(receiver.got) == 2)
        assert [g["message"]["text"] for g in receiver.got] == ["satu", "dua"]
        assert (await bot.get_webhook_info()).pending_update_count == 0
    finally:
        await runner.cleanup()


async def test_get_updates_conflicts_while_set_and_gets_the_rest_after_delete(
    api: SandboxClient, bot: Bot
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    await bot.set_webhook(f"http://127.0.0.1:{port}/telegram/hook")
    u = await api.user("dewi")
    await u.send("tertunda")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)
    await bot.delete_webhook()
    info = await bot.get_webhook_info()
    assert info.url == "" and info.pending_update_count == 1
    [update] = await bot.get_updates(timeout=0)
    assert update.message is not None and update.message.text == "tertunda"


@pytest.mark.parametrize(
    ("url", "secret", "error"),
    [
        ("http://example.org/telegram/hook", None, "An HTTPS URL must be provided"),
        ("https://example.org/telegram/hook", "bad secret!", "secret token contains unallowed"),
        ("https://example.org/telegram/hook", "x" * 257, "secret token contains unallowed"),
    ],
)
async def test_set_webhook_refuses_what_telegram_refuses(
    bot: Bot, url: str, secret: str | None, error: str
) -> None:
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        await bot.set_webhook(url, secret_token=secret)
    assert (await bot.get_webhook_info()).url == ""
