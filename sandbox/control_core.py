"""Shared core of the control API (state, request helpers) and its read-back and
configuration endpoints; :mod:`sandbox.control` adds the simulated users and the route table.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.botapi import BotApi
from sandbox.policy import Fault, FaultInjector, RateLimiter, RateLimits, Stats
from sandbox.state import (
    ChatState,
    StoredMessage,
    UserRecord,
    World,
)

MAX_WAIT = 300.0


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


ControlHandler = Callable[[web.Request], Awaitable[Any]]


class ControlCore:
    """State and request helpers of the control API; read-back and configuration endpoints."""

    def __init__(
        self,
        world: World,
        botapi: BotApi,
        limiter: RateLimiter,
        faults: FaultInjector,
        stats: Stats,
        reset_config: Callable[[], None],
    ) -> None:
        self.world = world
        self.botapi = botapi
        self.limiter = limiter
        self.faults = faults
        self.stats = stats
        self._reset_config = reset_config

    # -- request helpers ------------------------------------------------------------------

    @staticmethod
    async def _body(request: web.Request) -> dict[str, Any]:
        if not request.body_exists:
            return {}
        raw = await request.read()
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise ControlError(400, "request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise ControlError(400, "request body must be a JSON object")
        return body

    @staticmethod
    def _query_num(request: web.Request, name: str, default: float) -> float:
        raw = request.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return float(raw)
        except ValueError:
            raise ControlError(400, f"query parameter {name} must be a number") from None

    def _user(self, ref: str) -> UserRecord:
        user = self.world.users_by_name.get(ref)
        if user is None and ref.lstrip("-").isdigit():
            user = self.world.users.get(int(ref))
        if user is None:
            raise ControlError(404, f"unknown user {ref!r}; create it with POST /control/users")
        return user

    def _chat(self, request: web.Request) -> ChatState:
        ref = request.match_info["chat_id"]
        chat = None
        if ref.lstrip("-").isdigit():
            chat = self.world.chats.get(int(ref))
        if chat is None and ref in self.world.users_by_name:
            chat = self.world.chats.get(self.world.users_by_name[ref].id)
        if chat is None:
            raise ControlError(404, f"unknown chat {ref!r}")
        return chat

    # -- read back ------------------------------------------------------------------------

    async def chat_info(self, request: web.Request) -> Any:
        chat = self._chat(request)
        return {
            "user": chat.user.view(),
            "reply_keyboard": chat.reply_keyboard,
            "reply_keyboard_message_id": chat.reply_keyboard_message_id,
            "last_message_id": chat.next_message_id - 1,
            "last_event_seq": self.world.last_event_seq(chat),
            "commands": self.effective_commands(chat),
        }

    async def chat_messages(self, request: web.Request) -> Any:
        chat = self._chat(request)
        after = int(self._query_num(request, "after", 0))
        include_user = request.query.get("include_user", "") in ("1", "true")
        messages = [
            m.view()
            for m in chat.messages.values()
            if m.message_id > after and (m.from_bot or include_user)
        ]
        return {"messages": messages}

    async def chat_message(self, request: web.Request) -> Any:
        chat = self._chat(request)
        try:
            message_id = int(request.match_info["message_id"])
        except ValueError:
            raise ControlError(400, "message_id must be an integer") from None
        message = chat.messages.get(message_id)
        if message is None:
            raise ControlError(404, f"no message {message_id} in this chat")
        newer_than = int(self._query_num(request, "newer_than", -1))
        timeout = min(MAX_WAIT, self._query_num(request, "timeout", 0))
        changed = await self.world.notifier.wait_for(lambda: message.version > newer_than, timeout)
        return {"message": message.view(), "timed_out": not changed}

    async def chat_wait(self, request: web.Request) -> Any:
        chat = self._chat(request)
        after = int(self._query_num(request, "after", 0))
        count = max(1, int(self._query_num(request, "count", 1)))
        timeout = min(MAX_WAIT, self._query_num(request, "timeout", 10))

        def new() -> list[StoredMessage]:
            return [m for m in chat.bot_messages() if m.message_id > after]

        await self.world.notifier.wait_for(lambda: len(new()) >= count, timeout)
        messages = new()[:count]
        return {"messages": [m.view() for m in messages], "timed_out": len(messages) < count}

    async def chat_events(self, request: web.Request) -> Any:
        chat = self._chat(request)
        after = int(self._query_num(request, "after", 0))
        timeout = min(MAX_WAIT, self._query_num(request, "timeout", 0))
        await self.world.notifier.wait_for(
            lambda: bool(chat.events) and chat.events[-1]["seq"] > after, timeout
        )
        events = []
        for event in chat.events:
            if event["seq"] <= after:
                continue
            item = dict(event)
            message = chat.messages.get(event.get("message_id", -1))
            if message is not None:
                item["message"] = message.view()
            events.append(item)
        return {"events": events, "last_seq": self.world.last_event_seq(chat)}

    async def chat_actions(self, request: web.Request) -> Any:
        return {"actions": self._chat(request).actions}

    async def chat_commands(self, request: web.Request) -> Any:
        chat = self._chat(request)
        return {"commands": self.effective_commands(chat)}

    def effective_commands(self, chat: ChatState) -> list[dict[str, str]]:
        """The menu this chat's user sees: chat scope, then all private chats, then default;
        in each scope the user's language first, then the language-less list (Telegram's order).
        """
        language = chat.user.language_code or ""
        commands = self.world.commands
        for scope in (("chat", chat.user.id, None), ("all_private_chats", None, None)):
            for lang in (language, ""):
                found = commands.get((scope[0], scope[1], scope[2], lang))
                if found:
                    return found
        for lang in (language, ""):
            found = commands.get(("default", None, None, lang))
            if found:
                return found
        return []

    async def all_commands(self, request: web.Request) -> Any:
        return {
            "scopes": [
                {
                    "scope": {
                        key: value
                        for key, value in (
                            ("type", kind),
                            ("chat_id", chat_id),
                            ("user_id", user_id),
                        )
                        if value is not None
                    },
                    "language_code": lang,
                    "commands": commands,
                }
                for (kind, chat_id, user_id, lang), commands in self.world.commands.items()
            ]
        }

    async def callback_answers(self, request: web.Request) -> Any:
        query_id = request.query.get("callback_query_id")
        if query_id is None:
            chat_id = request.query.get("chat_id")
            answers = [
                a
                for a in self.world.callback_answers
                if chat_id is None or str(a["chat_id"]) == chat_id
            ]
            return {"answers": answers}
        record = self.world.callback_queries.get(query_id)
        if record is None:
            raise ControlError(404, f"unknown callback query {query_id}")
        timeout = min(MAX_WAIT, self._query_num(request, "timeout", 0))
        await self.world.notifier.wait_for(lambda: record.answer is not None, timeout)
        return {"answer": record.answer, "timed_out": record.answer is None}

    async def pending_updates(self, request: web.Request) -> Any:
        return {"updates": self.world.updates}

    async def file_bytes(self, request: web.Request) -> web.StreamResponse:
        stored = self.world.files.get(request.match_info["file_id"])
        if stored is None:
            return web.json_response({"error": "unknown file_id"}, status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # -- configuration --------------------------------------------------------------------

    async def get_stats(self, request: web.Request) -> Any:
        stats = self.stats.to_dict()
        stats["updates"] = {
            "pending": len(self.world.updates),
            "dropped_by_allowed_updates": self.world.dropped_updates,
        }
        return stats

    async def reset_stats(self, request: web.Request) -> Any:
        self.stats.reset()
        return {"ok": True}

    async def get_limits(self, request: web.Request) -> Any:
        return self.limiter.limits.to_dict()

    async def put_limits(self, request: web.Request) -> Any:
        body = await self._body(request)
        try:
            limits = RateLimits.from_dict(body)
        except (TypeError, ValueError) as error:
            raise ControlError(400, str(error)) from None
        self.limiter.configure(limits)
        return limits.to_dict()

    async def delete_limits(self, request: web.Request) -> Any:
        self.limiter.configure(RateLimits())
        return self.limiter.limits.to_dict()

    async def get_faults(self, request: web.Request) -> Any:
        return self.faults.to_dict()

    async def put_faults(self, request: web.Request) -> Any:
        body = await self._body(request)
        rules = body.get("rules", [])
        seed = body.get("seed")
        if not isinstance(rules, list) or (seed is not None and not isinstance(seed, int)):
            raise ControlError(400, "expected {'seed': int, 'rules': [fault, ...]}")
        try:
            parsed = [Fault.from_dict(rule) for rule in rules]
        except (TypeError, ValueError) as error:
            raise ControlError(400, f"bad fault rule: {error}") from None
        self.faults.configure(parsed, seed)
        return self.faults.to_dict()

    async def delete_faults(self, request: web.Request) -> Any:
        self.faults.configure([])
        return self.faults.to_dict()
