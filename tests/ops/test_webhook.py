"""Webhook mode, in process: the sandbox posts updates to the bot's endpoint over real HTTP.

A family's conversation goes through the webhook (no getUpdates at all); the endpoint refuses a
wrong or missing secret (403, nothing stored), a body that is no update (400) or too big (413),
answers a duplicate 200 and handles it once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import time_machine
from sqlalchemy import func, select

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from db.models import InboxUpdate, OutboxMessage
from db.session import Database
from homecare.config import Config
from sandbox.server import SandboxServer
from tests.ops.webhook_support import HOOK_PATH, SECRET, free_port, webhook_config
from tests.patient.helpers import NOW, last, register_self, seed_staff, user
from tests.patient.story_helpers import no_failures

HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer(webhook_backoff_s=0.05, webhook_backoff_cap_s=0.5)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: SandboxServer) -> Config:
    cfg = make_config(sandbox)
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    return webhook_config(cfg.replace(delivery=fast), free_port())


@pytest.fixture
async def app(
    config: Config, database: Database, clock: time_machine.Traveller, sandbox: SandboxServer
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await hc.start()
    await seed_staff(hc)
    for _ in range(200):  # setWebhook runs beside the start
        if sandbox.world.webhook_url:
            break
        await asyncio.sleep(0.02)
    yield hc
    await hc.stop()


@pytest.fixture
async def http(app: HomecareApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{app.config.web.port}") as c:
        yield c


async def inbox_count(hc: HomecareApp) -> int:
    async with hc.db.read() as s:
        return int(await s.scalar(select(func.count()).select_from(InboxUpdate)) or 0)


def update(update_id: int, text: str = "/help", user_id: int = 555_001) -> dict[str, Any]:
    person = {"id": user_id, "is_bot": False, "first_name": "Ani", "language_code": "id"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Ani"},
            "from": person,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


@pytest.mark.parametrize(
    ("language", "service", "safety"),
    [("id", "Perawatan luka", "keselamatan"), ("en", "Wound care", "Safety")],
)
async def test_a_family_registers_and_books_through_the_webhook(
    app: HomecareApp,
    client: Any,
    sandbox: SandboxServer,
    language: str,
    service: str,
    safety: str,
) -> None:
    info = await app.application.bot.get_webhook_info()
    assert info.url == app.config.telegram.webhook_url
    assert info.max_connections == 1
    ani = await user(client, "ani", language=language)
    # /start, consent (its text checked in either language), every field: each a webhook post.
    await register_self(ani)
    services = (await ani.messages())[-1]
    assert service in services.button_texts
    await ani.press(service)
    question = await last(ani)
    assert safety in question.plain_text
    await no_failures(app)
    stats = sandbox.snapshot_stats()["methods"]
    assert "getUpdates" not in stats, "webhook mode must not poll"
    handled = await inbox_count(app)
    assert handled >= 8
    assert stats["webhook"]["delivered"] == handled
    assert (await app.application.bot.get_webhook_info()).pending_update_count == 0


@pytest.mark.parametrize("headers", [{HEADER: "wrong-secret"}, {}, {HEADER: SECRET + "x"}])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(
    app: HomecareApp, http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    before = await inbox_count(app)
    r = await http.post(HOOK_PATH, json=update(900_000_001), headers=headers)
    assert r.status_code == 403
    assert await inbox_count(app) == before


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        json.dumps({"message": {"text": "no id"}}).encode(),
        json.dumps({"update_id": "7", "message": {}}).encode(),
        json.dumps({"update_id": 7}).encode(),
        json.dumps({"update_id": 7, "message": {"text": "no chat"}}).encode(),
        "\udcff".encode("utf-8", "surrogatepass"),
    ],
)
async def test_a_body_that_is_no_update_is_refused(
    app: HomecareApp, http: httpx.AsyncClient, body: bytes
) -> None:
    before = await inbox_count(app)
    r = await http.post(HOOK_PATH, content=body, headers={HEADER: SECRET})
    assert r.status_code == 400
    assert await inbox_count(app) == before


async def test_an_oversized_body_is_refused_declared_or_chunked(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    big = update(900_000_002, text="/help " + "x" * (1024 * 1024))
    r = await http.post(HOOK_PATH, json=big, headers={HEADER: SECRET})
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read up to the cap only
        data = json.dumps(big).encode()
        for i in range(0, len(data), 64 * 1024):
            yield data[i : i + 64 * 1024]

    r = await http.post(HOOK_PATH, content=chunks(), headers={HEADER: SECRET})
    assert r.status_code == 413
    assert await inbox_count(app) == 0


async def test_an_update_bigger_than_a_console_form_is_accepted(
    app: HomecareApp, http: httpx.AsyncClient
) -> None:
    # Over the console's 64 KiB form cap (escaped emoji and a quoted reply get there).
    payload = update(900_000_003, text="/help " + "🙂" * 2000)
    payload["message"]["reply_to_message"] = {
        "message_id": 2,
        "date": 1_700_000_000,
        "chat": payload["message"]["chat"],
        "text": "🙂" * 4096,
    }
    body = json.dumps(payload).encode()  # ensure_ascii: 12 bytes an emoji
    assert len(body) > 64 * 1024
    r = await http.post(
        HOOK_PATH, content=body, headers={HEADER: SECRET, "content-type": "application/json"}
    )
    assert r.status_code == 200
    assert await inbox_count(app) == 1


async def test_a_duplicate_update_is_answered_200_and_handled_once(
    app: HomecareApp, http: httpx.AsyncClient, client: Any
) -> None:
    ani = await client.user("ani_dup", user_id=555_002, started=True)
    payload = update(900_000_004, user_id=555_002)
    for _ in range(3):
        r = await http.post(HOOK_PATH, json=payload, headers={HEADER: SECRET})
        assert r.status_code == 200
    [reply] = await ani.wait_messages(1)
    assert "/minta_kunjungan" in reply.plain_text
    await ani.expect_no_message(0.5)
    async with app.db.read() as s:
        where = InboxUpdate.update_id == 900_000_004
        rows = list(await s.scalars(select(InboxUpdate).where(where)))
        replies = await s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.source_update_id == 900_000_004)
        )
    assert [r.status for r in rows] == ["done"]
    assert replies == 1


async def test_only_post_reaches_the_webhook(app: HomecareApp, http: httpx.AsyncClient) -> None:
    r = await http.get(HOOK_PATH, headers={HEADER: SECRET})
    assert r.status_code == 405
    assert await inbox_count(app) == 0


async def test_healthz_is_200_once_the_webhook_is_set(
    app: HomecareApp, http: httpx.AsyncClient, sandbox: SandboxServer
) -> None:
    """setWebhook is a start-up step, not a worker: done, it must not read as a stopped one."""
    assert sandbox.world.webhook_url == app.config.telegram.webhook_url
    for _ in range(100):
        if app.intake.webhook_set:
            break
        await asyncio.sleep(0.02)
    answer = await http.get("/healthz")
    assert answer.status_code == 200, answer.json()
    assert answer.json()["workers_stopped"] == [] and answer.json()["webhook"] == "set"


async def test_healthz_is_503_while_telegram_refuses_the_webhook(
    make_config: Callable[..., Config], database: Database, sandbox: SandboxServer, client: Any
) -> None:
    """A refused setWebhook is retried, and until it is accepted a monitor sees 503."""
    await client.set_faults([{"kind": "server_error", "methods": ["setWebhook"]}])
    hc = build_application(webhook_config(make_config(sandbox), free_port()), db=database)
    await hc.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{hc.config.web.port}") as http:
            answer = await http.get("/healthz")
            assert answer.status_code == 503
            assert answer.json()["webhook"] == "not_set"
            assert answer.json()["workers_stopped"] == []
            await client.set_faults([])
            for _ in range(200):  # retried after 1 s
                if hc.intake.webhook_set:
                    break
                await asyncio.sleep(0.05)
            assert (await http.get("/healthz")).status_code == 200
    finally:
        await hc.stop()
