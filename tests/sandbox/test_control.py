"""Raw HTTP encodings, the control API's wait primitives, concurrency, sync client, process."""

from __future__ import annotations

import asyncio
import json
import signal
import sys

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from sandbox.client import SandboxClient, SandboxError, SyncSandboxClient
from sandbox.server import SandboxServer
from tests.sandbox.helpers import TOKEN, make_bot


async def call(
    server: SandboxServer, method: str, http: str = "POST", token: str = TOKEN, **kwargs: object
) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(http, f"{server.bot_api_base_url}{token}/{method}", **kwargs) as r,  # type: ignore[arg-type]
    ):
        return r.status, await r.json()


async def test_every_encoding_ptb_or_curl_may_use(
    server: SandboxServer, api: SandboxClient
) -> None:
    u = await api.user("u", started=True)
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    # JSON body with native values, and with reply_markup as a JSON string (both accepted).
    status, body = await call(
        server, "sendMessage", json={"chat_id": u.id, "text": "json", "reply_markup": markup}
    )
    assert status == 200 and body["ok"] is True
    status, _ = await call(
        server,
        "sendMessage",
        json={"chat_id": str(u.id), "text": "json2", "reply_markup": json.dumps(markup)},
    )
    assert status == 200
    # Form fields are JSON-encoded values, exactly as PTB sends them.
    form = {
        "chat_id": str(u.id),
        "text": "123",
        "reply_markup": json.dumps(markup),
        "disable_notification": "true",
    }
    status, body = await call(server, "sendMessage", data=form)
    assert status == 200 and body["result"]["text"] == "123"  # type: ignore[index]
    # GET with a query string, method name in any case.
    status, body = await call(
        server, "SENDMESSAGE", http="GET", params={"chat_id": u.id, "text": "get"}
    )
    assert status == 200
    # multipart with a file part and text parts.
    data = aiohttp.FormData()
    data.add_field("chat_id", str(u.id))
    data.add_field("caption", "multipart")
    data.add_field("reply_markup", json.dumps(markup))
    data.add_field("document", b"bytes!", filename="b.bin", content_type="application/x-thing")
    status, body = await call(server, "sendDocument", data=data)
    assert status == 200
    messages = await u.messages()
    assert [m.plain_text for m in messages] == ["json", "json2", "123", "get", "multipart"]
    assert all(m.inline_keyboard for m in messages if m.plain_text != "get")
    assert messages[2].raw["disable_notification"] is True
    assert (
        messages[4].document is not None and messages[4].document.mime_type == "application/x-thing"
    )


async def test_envelopes_for_protocol_errors(server: SandboxServer, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    status, body = await call(server, "noSuchMethod")
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = await call(server, "getMe", token="not-a-token")
    assert status == 404
    status, body = await call(server, "sendMessage", data={"chat_id": str(u.id)})
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: message text is empty",
    }
    status, body = await call(
        server, "sendMessage", data={"chat_id": str(u.id), "text": "x", "reply_markup": "{oops"}
    )
    assert body["description"] == "Bad Request: can't parse reply keyboard markup JSON object"
    status, body = await call(server, "sendMessage", data={"text": "x"})
    assert body["description"] == "Bad Request: chat_id is empty"
    async with SandboxServer(tokens=[TOKEN]) as strict:
        status, body = await call(strict, "getMe", token="1:wrong")
        assert (status, body) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )


async def test_wait_returns_when_the_bot_sends_and_times_out_empty(
    bot: Bot, api: SandboxClient
) -> None:
    u = await api.user("u", started=True)
    assert await u.wait_messages(1, timeout=0.05) == []
    waiter = asyncio.create_task(u.wait_messages(2, timeout=30))
    await bot.send_message(u.id, "satu")
    await bot.send_message(u.id, "dua")
    await bot.send_message(u.id, "tiga")
    assert [m.plain_text for m in await waiter] == ["satu", "dua"]
    assert [m.plain_text for m in await u.wait_messages(5, timeout=0.05)] == ["tiga"]
    assert u.cursor == 3
    with pytest.raises(AssertionError, match="no new message"):
        await u.wait_message(timeout=0)


async def test_mark_read_and_expect_no_message(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u", started=True)
    await bot.send_message(u.id, "lama")
    await u.mark_read()
    await u.expect_no_message(timeout=0)
    await bot.send_message(u.id, "baru")
    with pytest.raises(AssertionError, match="baru"):
        await u.expect_no_message(timeout=0)
    assert (await u.wait_message()).plain_text == "baru"


async def test_events_stream_and_chat_info(bot: Bot, api: SandboxClient) -> None:
    u = await api.user("u")
    await u.send("/start")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(u.id, "x", reply_markup=markup)
    await bot.edit_message_text("y", u.id, sent.message_id)
    await bot.delete_message(u.id, sent.message_id)
    await bot.send_chat_action(u.id, "upload_document")
    events = await api.events(u.id)
    assert [e["type"] for e in events["events"]] == [
        "user_message",
        "message",
        "edit",
        "delete",
        "chat_action",
    ]
    later = await api.events(u.id, after=events["last_seq"], timeout=0)
    assert later["events"] == []
    info = await api.chat(u.id)
    assert info["last_message_id"] == 2 and info["user"]["started"] is True


async def test_control_errors_are_clear(api: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="unknown user 'ghost'"):
        await api.request("POST", "/control/users/ghost/messages", json={"text": "x"})
    u = await api.user("u")
    with pytest.raises(SandboxError, match="text must be a non-empty string"):
        await u.send("  ")
    with pytest.raises(SandboxError, match="unknown user fields"):
        await api.user("v", favourite_colour="blue")
    with pytest.raises(SandboxError) as caught:
        await api.request("GET", "/control/files/nothing")
    assert caught.value.status == 404
    await u.block()
    with pytest.raises(SandboxError, match="has blocked the bot"):
        await u.send("x")


async def test_users_are_idempotent_by_name_with_stable_ids(api: SandboxClient) -> None:
    first = await api.user("siti", language_code="id")
    again = await api.user("siti", language_code="en")  # existing user is returned as is
    assert first.id == again.id and again.language_code == "id"
    other = await api.user("ani")
    assert other.id != first.id
    explicit = await api.user("nurse", user_id=555, first_name="Ners", started=True)
    assert (explicit.id, explicit.first_name, explicit.info["started"]) == (555, "Ners", True)
    await api.reset()
    assert (await api.user("siti")).id == first.id  # same name, same id after a reset
    assert [u["name"] for u in await api.users()] == ["siti"]


async def test_many_users_concurrently_through_ptbs_pool(
    server: SandboxServer, api: SandboxClient
) -> None:
    users = await asyncio.gather(*(api.user(f"user{i}") for i in range(24)))
    await asyncio.gather(*(u.send(f"/start {u.name}") for u in users))
    async with make_bot(server, connection_pool_size=8) as bot:
        updates = await bot.get_updates()
        assert len(updates) == 24
        assert len({x.update_id for x in updates}) == 24

        async def converse(chat_id: int) -> None:
            for i in range(4):
                await bot.send_message(chat_id, f"pesan {i}")

        waiters = [asyncio.create_task(u.wait_messages(4, timeout=30)) for u in users]
        await asyncio.gather(*(converse(u.id) for u in users))
        results = await asyncio.gather(*waiters)
    for user, messages in zip(users, results, strict=True):
        assert [m.plain_text for m in messages] == [f"pesan {i}" for i in range(4)]
        assert [m.message_id for m in messages] == [2, 3, 4, 5]
        assert {m.chat_id for m in messages} == {user.id}
    assert (await api.stats())["methods"]["sendMessage"] == {"ok": 96}


async def test_stop_wakes_long_polls_at_once() -> None:
    server = SandboxServer()
    await server.start()
    bot = make_bot(server)
    await bot.initialize()
    poll = asyncio.create_task(bot.get_updates(timeout=60, read_timeout=70))
    assert await server.world.notifier.wait_for(lambda: server.botapi.polling, 5)
    await server.stop()
    assert await poll == ()
    await server.stop()  # idempotent
    await bot.shutdown()


async def test_sync_client_from_a_thread(server: SandboxServer, bot: Bot) -> None:
    def script() -> tuple[int, str]:
        with SyncSandboxClient(server.url) as client:
            siti = client.user("siti")
            siti.send("/start")
            return siti.id, siti.name

    user_id, name = await asyncio.to_thread(script)
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.from_user is not None
    assert (update.message.from_user.id, name) == (user_id, "siti")


@pytest.mark.slow
async def test_standalone_process_prints_url_and_stops_on_sigterm() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sandbox",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert line.startswith("Telegram sandbox listening on http://127.0.0.1:")
        url = line.split()[-1]
        async with SandboxClient(url) as client:
            assert await client.health()
            siti = await client.user("siti")
            await siti.send("/start")
        proc.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        assert proc.returncode == 0, err.decode()
        assert "Telegram sandbox stopped." in out.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_server_restarts_and_waits_work_again() -> None:
    server = SandboxServer()
    await server.start()
    await server.stop()
    await server.start()
    try:
        async with SandboxClient(server.url) as client:
            u = await client.user("u", started=True)
            waiter = asyncio.create_task(u.wait_messages(1, timeout=30))
            async with make_bot(server) as bot:
                await bot.send_message(u.id, "masih hidup")
            assert [m.plain_text for m in await waiter] == ["masih hidup"]
    finally:
        await server.stop()


async def test_a_sandbox_bug_is_a_readable_500(server: SandboxServer, bot: Bot) -> None:
    async def broken(call: object) -> object:
        raise KeyError("oops")

    server.botapi.methods["getme"] = ("getMe", broken)
    status, body = await call(server, "getMe")
    assert status == 500
    assert body["description"] == "Internal Server Error: sandbox bug: KeyError('oops')"
