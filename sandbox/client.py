"""Python client of the sandbox's control API: act as Telegram users, read what the bot sent.

The main test primitive is :meth:`SandboxUser.wait_messages`: it long-polls the server until the
bot has sent ``count`` new messages to the user's chat (after the user's own read cursor) and
advances the cursor, so a story test reads like a conversation and never sleeps::

    client = SandboxClient(server.url)
    siti = await client.user("siti", language_code="id")
    await siti.send("/start")
    [welcome] = await siti.wait_messages(1)
    assert "Selamat datang" in welcome.plain_text
    await siti.press("Setuju")                       # inline button by its visible text
    [done] = await siti.wait_messages(1)
    await client.close()

:class:`BotMessage` is a frozen snapshot of one message the bot sent (edits applied, history
kept, deletions flagged). :class:`SyncSandboxClient` offers the same API without ``await``
(for scripts and the REPL; not inside a running event loop).
"""

# `timeout` parameters here are server-side long-poll durations, not client cancellation.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import base64
import inspect
import threading
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from sandbox.views import (
    BotMessage,
    CallbackAnswer,
    CallbackPress,
    FileInfo,
    InlineButton,
    MessageVersion,
    ReplyButton,
    SandboxError,
    SandboxTimeout,
)

__all__ = [
    "BotMessage",
    "CallbackAnswer",
    "CallbackPress",
    "FileInfo",
    "InlineButton",
    "MessageVersion",
    "ReplyButton",
    "SandboxClient",
    "SandboxError",
    "SandboxTimeout",
    "SandboxUser",
    "SyncSandboxClient",
]

T = TypeVar("T")


class SandboxClient:
    """Async client of one sandbox server (``base_url`` as ``SandboxServer.url``)."""

    def __init__(self, base_url: str, *, request_timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.request_timeout = request_timeout
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    def _http(self) -> aiohttp.ClientSession:
        # Created lazily: a ClientSession belongs to the loop that creates it.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        wait: float = 0.0,
        raw: bool = False,
    ) -> Any:
        """One control API call; raises :class:`SandboxError` for an error answer.

        The answer is decoded JSON, or the body's bytes with ``raw=True``."""
        timeout = aiohttp.ClientTimeout(total=self.request_timeout + wait)
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        async with self._http().request(
            method, self.base_url + path, json=json, params=query, timeout=timeout
        ) as response:
            if response.content_type == "application/json" and not (raw and response.status < 400):
                body = await response.json()
            else:
                body = await response.read()
            if response.status >= 400:
                message = body.get("error") if isinstance(body, dict) else None
                raise SandboxError(response.status, str(message or body))
            return body

    # -- users ----------------------------------------------------------------------------

    async def user(self, name: str, language_code: str | None = "id", **fields: Any) -> SandboxUser:
        """Create (or get, by name) a simulated user. Extra fields: first_name, last_name,
        username, phone_number, user_id, is_premium, started."""
        body = {"name": name, "language_code": language_code, **fields}
        data = await self.request("POST", "/control/users", json=body)
        return SandboxUser(self, data["user"])

    async def users(self) -> list[dict[str, Any]]:
        return list((await self.request("GET", "/control/users"))["users"])

    # -- state ----------------------------------------------------------------------------

    async def reset(self) -> None:
        """Forget all users, chats, updates and files; limits/faults back to the start values."""
        await self.request("POST", "/control/reset")

    async def health(self) -> bool:
        return bool((await self.request("GET", "/control/health"))["ok"])

    async def stats(self) -> dict[str, Any]:
        return dict(await self.request("GET", "/control/stats"))

    async def reset_stats(self) -> None:
        await self.request("POST", "/control/stats/reset")

    async def set_limits(self, **limits: Any) -> dict[str, Any]:
        """Enable flood limits (fields of ``sandbox.policy.RateLimits``)."""
        return dict(await self.request("PUT", "/control/limits", json=limits))

    async def clear_limits(self) -> None:
        await self.request("DELETE", "/control/limits")

    async def set_faults(self, rules: list[Mapping[str, Any]], seed: int | None = None) -> Any:
        """Install fault rules (fields of ``sandbox.policy.Fault``), replacing earlier ones."""
        return await self.request(
            "PUT", "/control/faults", json={"rules": list(rules), "seed": seed}
        )

    async def clear_faults(self) -> None:
        await self.request("DELETE", "/control/faults")

    async def pending_updates(self) -> list[dict[str, Any]]:
        """Updates the bot has not confirmed yet (via getUpdates' offset)."""
        return list((await self.request("GET", "/control/updates"))["updates"])

    async def bot_info(self) -> dict[str, Any]:
        return dict(await self.request("GET", "/control/bot"))

    async def commands(self) -> list[dict[str, Any]]:
        """Every stored command list with its scope and language."""
        return list((await self.request("GET", "/control/commands"))["scopes"])

    async def callback_answers(self, chat_id: int | None = None) -> list[CallbackAnswer]:
        data = await self.request("GET", "/control/callback_answers", params={"chat_id": chat_id})
        return [CallbackAnswer.from_view(a) for a in data["answers"]]

    async def file_bytes(self, file: FileInfo | str) -> bytes:
        """The bytes of a file the bot sent (or a user sent)."""
        file_id = file.file_id if isinstance(file, FileInfo) else file
        data = await self.request("GET", f"/control/files/{file_id}", raw=True)
        if not isinstance(data, bytes):
            raise SandboxError(500, "expected file bytes")
        return data

    async def messages(self, chat_id: int, after: int = 0) -> list[BotMessage]:
        data = await self.request(
            "GET", f"/control/chats/{chat_id}/messages", params={"after": after}
        )
        return [BotMessage.from_view(m) for m in data["messages"]]

    async def wait_messages(
        self, chat_id: int, after: int, count: int = 1, timeout: float = 10.0
    ) -> list[BotMessage]:
        """The first ``count`` bot messages with id > ``after``; fewer if ``timeout`` passes."""
        data = await self.request(
            "GET",
            f"/control/chats/{chat_id}/wait",
            params={"after": after, "count": count, "timeout": timeout},
            wait=timeout,
        )
        return [BotMessage.from_view(m) for m in data["messages"]]

    async def events(self, chat_id: int, after: int = 0, timeout: float = 0.0) -> dict[str, Any]:
        """Raw chat events (message, edit, delete, chat_action, callback_answer...) after a
        sequence number, long-polling up to ``timeout``."""
        return dict(
            await self.request(
                "GET",
                f"/control/chats/{chat_id}/events",
                params={"after": after, "timeout": timeout},
                wait=timeout,
            )
        )

    async def chat(self, chat_id: int) -> dict[str, Any]:
        return dict(await self.request("GET", f"/control/chats/{chat_id}"))


class SandboxUser:
    """A simulated Telegram user (private chat id == user id) with a read cursor."""

    def __init__(self, client: SandboxClient, info: Mapping[str, Any]) -> None:
        self.client = client
        self.info = dict(info)
        self.id: int = int(info["id"])
        self.name: str = str(info["name"])
        self.first_name: str = str(info["first_name"])
        self.language_code: str | None = info.get("language_code")
        self.phone_number: str = str(info.get("phone_number") or "")
        self.cursor = 0  # message_id of the last bot message read via wait_messages

    def __repr__(self) -> str:
        return f"SandboxUser(name={self.name!r}, id={self.id})"

    @property
    def chat_id(self) -> int:
        return self.id

    def _path(self, action: str) -> str:
        return f"/control/users/{self.id}/{action}"

    # -- acting ---------------------------------------------------------------------------

    async def send(self, text: str, *, reply_to: int | None = None) -> int:
        """Send a text (commands get Telegram's bot_command entities); returns its message_id."""
        body = {"text": text, "reply_to_message_id": reply_to}
        data = await self.client.request("POST", self._path("messages"), json=body)
        return int(data["message_id"])

    async def share_contact(
        self, phone: str | None = None, *, first_name: str | None = None
    ) -> int:
        """Share the user's own contact (phone defaults to the user's number)."""
        body: dict[str, Any] = {}
        if phone is not None:
            body["phone_number"] = phone
        if first_name is not None:
            body["first_name"] = first_name
        data = await self.client.request("POST", self._path("contact"), json=body)
        return int(data["message_id"])

    async def share_location(self, latitude: float, longitude: float) -> int:
        body = {"latitude": latitude, "longitude": longitude}
        data = await self.client.request("POST", self._path("location"), json=body)
        return int(data["message_id"])

    async def _media(self, kind: str, data: bytes | None, **fields: Any) -> int:
        body: dict[str, Any] = {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}
        if data is not None:
            body["data_base64"] = base64.b64encode(data).decode("ascii")
        answer = await self.client.request("POST", self._path("media"), json=body)
        return int(answer["message_id"])

    async def send_photo(self, data: bytes | None = None, *, caption: str | None = None) -> int:
        """Send a photo (default: a small generated PNG)."""
        return await self._media("photo", data, caption=caption)

    async def send_sticker(self, data: bytes | None = None) -> int:
        return await self._media("sticker", data)

    async def send_voice(self, data: bytes | None = None, *, duration: int = 2) -> int:
        return await self._media("voice", data, duration=duration)

    async def send_document(
        self,
        data: bytes | None = None,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> int:
        return await self._media(
            "document", data, file_name=file_name, mime_type=mime_type, caption=caption
        )

    async def press(
        self,
        button_text: str | None = None,
        *,
        data: str | None = None,
        message_id: int | None = None,
    ) -> CallbackPress:
        """Press an inline button by visible text or exact callback_data, on the latest bot
        message that has it (or on ``message_id``)."""
        body = {"text": button_text, "data": data, "message_id": message_id}
        answer = await self.client.request("POST", self._path("press"), json=body)
        return _press(answer)

    async def press_forged(
        self, data: str, *, message_id: int | None = None, within: float = 10.0
    ) -> CallbackPress:
        """A callback query with arbitrary data, as a modified client could send. A forged
        press still rides on a message of the bot's: one still on its way is waited for (up to
        `within` seconds), as a person waits for it to appear."""
        body = {"data": data, "message_id": message_id, "forged": True}
        loop = asyncio.get_running_loop()
        until = loop.time() + within
        while True:
            try:
                answer = await self.client.request("POST", self._path("press"), json=body)
            except SandboxError as exc:
                if exc.status != 404 or "not sent any message" not in str(exc):
                    raise
                if loop.time() >= until:
                    raise
                await asyncio.sleep(0.05)
                continue
            return _press(answer)

    async def press_reply(
        self,
        button_text: str,
        *,
        phone: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
    ) -> int:
        """Press a reply-keyboard button: sends its text, or the contact/location it asks for."""
        body = {
            "text": button_text,
            "phone_number": phone,
            "latitude": latitude,
            "longitude": longitude,
        }
        body = {k: v for k, v in body.items() if v is not None}
        answer = await self.client.request("POST", self._path("press_reply"), json=body)
        return int(answer["message_id"])

    async def block(self) -> None:
        await self.client.request("POST", self._path("block"))

    async def unblock(self) -> None:
        await self.client.request("POST", self._path("unblock"))

    # -- reading --------------------------------------------------------------------------

    async def messages(self) -> list[BotMessage]:
        """Every message the bot sent to this chat, in order (deleted ones flagged)."""
        return await self.client.messages(self.id)

    async def wait_messages(self, count: int = 1, timeout: float = 10.0) -> list[BotMessage]:
        """The next ``count`` bot messages after the read cursor (fewer on timeout); advances
        the cursor past the returned ones."""
        messages = await self.client.wait_messages(self.id, self.cursor, count, timeout)
        if messages:
            self.cursor = messages[-1].message_id
        return messages

    async def wait_message(self, timeout: float = 10.0) -> BotMessage:
        """The next bot message; raises :class:`SandboxTimeout` if none comes in time."""
        messages = await self.wait_messages(1, timeout)
        if not messages:
            raise SandboxTimeout(f"the bot sent {self.name} no new message within {timeout}s")
        return messages[0]

    async def expect_no_message(self, timeout: float = 0.2) -> None:
        """Assert the bot sent nothing new (waits ``timeout`` for a message that must not
        come; use only after the bot demonstrably finished handling, e.g. a later reply)."""
        messages = await self.client.wait_messages(self.id, self.cursor, 1, timeout)
        if messages:
            raise SandboxTimeout(f"unexpected message to {self.name}: {messages[0].plain_text!r}")

    async def last_message(self) -> BotMessage | None:
        """The latest bot message still visible (not deleted), or None."""
        visible = [m for m in await self.messages() if not m.deleted]
        return visible[-1] if visible else None

    async def mark_read(self) -> None:
        """Move the read cursor past everything the bot has sent so far."""
        messages = await self.messages()
        if messages:
            self.cursor = max(self.cursor, messages[-1].message_id)

    async def refresh(self, message: BotMessage) -> BotMessage:
        data = await self.client.request(
            "GET", f"/control/chats/{self.id}/messages/{message.message_id}"
        )
        return BotMessage.from_view(data["message"])

    async def wait_edit(self, message: BotMessage, timeout: float = 10.0) -> BotMessage:
        """The message once the bot edited (or deleted) it after this snapshot."""
        data = await self.client.request(
            "GET",
            f"/control/chats/{self.id}/messages/{message.message_id}",
            params={"newer_than": message.version, "timeout": timeout},
            wait=timeout,
        )
        if data["timed_out"]:
            raise SandboxTimeout(f"message {message.message_id} was not edited within {timeout}s")
        return BotMessage.from_view(data["message"])

    async def callback_answer(
        self, press: CallbackPress | str, timeout: float = 10.0
    ) -> CallbackAnswer | None:
        """The bot's answer to a press (None if it did not answer within ``timeout``)."""
        query_id = press.callback_query_id if isinstance(press, CallbackPress) else press
        data = await self.client.request(
            "GET",
            "/control/callback_answers",
            params={"callback_query_id": query_id, "timeout": timeout},
            wait=timeout,
        )
        return CallbackAnswer.from_view(data["answer"]) if data["answer"] else None

    async def chat_actions(self) -> list[str]:
        data = await self.client.request("GET", f"/control/chats/{self.id}/actions")
        return [a["action"] for a in data["actions"]]

    async def commands(self) -> list[tuple[str, str]]:
        """The command menu this user sees (scope and language resolved like Telegram)."""
        data = await self.client.request("GET", f"/control/chats/{self.id}/commands")
        return [(c["command"], c["description"]) for c in data["commands"]]

    async def reply_keyboard(self) -> list[list[ReplyButton]] | None:
        """The reply keyboard the chat currently shows (None when removed or never sent)."""
        data = await self.client.chat(self.id)
        keyboard = data.get("reply_keyboard")
        if not keyboard:
            return None
        return [
            [
                ReplyButton(b, False, False)
                if isinstance(b, str)
                else ReplyButton(
                    str(b.get("text", "")),
                    bool(b.get("request_contact")),
                    bool(b.get("request_location")),
                )
                for b in row
            ]
            for row in keyboard["keyboard"]
        ]

    async def file_bytes(self, file: FileInfo | str) -> bytes:
        return await self.client.file_bytes(file)

    @staticmethod
    def buttons(message: BotMessage) -> list[InlineButton]:
        """The message's inline buttons, flattened."""
        return message.buttons


def _press(answer: Mapping[str, Any]) -> CallbackPress:
    return CallbackPress(
        callback_query_id=str(answer["callback_query_id"]),
        message_id=int(answer["message_id"]),
        data=str(answer["data"]),
        update_id=answer.get("update_id"),
    )


class _LoopThread:
    """An event loop in a daemon thread, for the synchronous facade."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


class _SyncProxy:
    """Calls the wrapped object's coroutine methods synchronously on the loop thread."""

    def __init__(self, runner: _LoopThread, target: Any) -> None:
        self._runner = runner
        self._target = target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = self._runner.run(attr(*args, **kwargs))
            if isinstance(result, SandboxUser):
                return _SyncProxy(self._runner, result)
            return result

        return call

    def __repr__(self) -> str:
        return f"Sync{self._target!r}"


class SyncSandboxClient(_SyncProxy):
    """Blocking twin of :class:`SandboxClient` (users it returns are blocking too)::

    client = SyncSandboxClient("http://127.0.0.1:8081")
    siti = client.user("siti")
    siti.send("/start")
    print(siti.wait_messages(1)[0].plain_text)
    client.close()
    """

    def __init__(self, base_url: str, *, request_timeout: float = 30.0) -> None:
        runner = _LoopThread()
        super().__init__(runner, SandboxClient(base_url, request_timeout=request_timeout))

    def close(self) -> None:
        self._runner.run(self._target.close())
        self._runner.close()

    def __enter__(self) -> SyncSandboxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
