"""getMe, getUpdates long polling, webhooks, getChat and answerCallbackQuery."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from sandbox.botapi.core import ApiCore
from sandbox.botapi.protocol import CONFLICT_POLL, QUERY_INVALID, ApiError, Call, Poll, bad_request
from sandbox.state import DEFAULT_ALLOWED_UPDATES

_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _webhook_url_ok(url: str) -> bool:
    """HTTPS as Telegram demands; plain HTTP only to loopback (the sandbox has no TLS)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK)


class UpdateMethods(ApiCore):
    async def ok_true(self, call: Call) -> Any:
        return True

    async def get_me(self, call: Call) -> Any:
        return {
            **self.identity.user(call.token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, call: Call) -> Any:
        params, world = call.params, self.world
        if world.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.get_int("offset", "wrong parameter offset") or 0
        limit = params.get_int("limit", "wrong parameter limit") or 100
        limit = min(100, max(1, limit))
        timeout = max(0.0, params.get_float("timeout", "wrong parameter timeout") or 0.0)
        allowed = params.get_json("allowed_updates", "can't parse allowed updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed updates")
            world.allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        world.confirm_updates(offset)
        if self._poll is not None:
            self._poll.terminated = True
        poll = self._poll = Poll()
        world.notifier.notify()

        def ready() -> bool:
            if poll.terminated:
                return True
            return any(u["update_id"] >= offset for u in world.updates)

        try:
            await world.notifier.wait_for(ready, timeout)
        finally:
            if self._poll is poll:
                self._poll = None
        if poll.terminated:
            raise ApiError(409, CONFLICT_POLL)
        world.confirm_updates(offset)
        return world.updates[:limit]

    async def set_webhook(self, call: Call) -> Any:
        params, hook = call.params, self.world.webhook
        url = params.get_str("url") or ""
        if url and not _webhook_url_ok(url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get_str("secret_token")
        if secret is not None and not _SECRET.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        connections = params.get_int("max_connections", "wrong parameter max_connections")
        allowed = params.get_json("allowed_updates", "can't parse allowed updates")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise bad_request("can't parse allowed updates")
            self.world.allowed_updates = frozenset(allowed) or DEFAULT_ALLOWED_UPDATES
        if url != hook.url:
            hook.last_error_date = hook.last_error_message = None
        hook.url = url
        hook.secret_token = secret or ""
        # Telegram's range; out-of-range values are clamped.
        hook.max_connections = min(100, max(1, connections or 40))
        hook.generation += 1
        if params.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        self.world.notifier.notify()
        return True

    async def delete_webhook(self, call: Call) -> Any:
        hook = self.world.webhook
        hook.url = hook.secret_token = ""
        hook.last_error_date = hook.last_error_message = None
        hook.generation += 1
        if call.params.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        self.world.notifier.notify()
        return True

    async def get_webhook_info(self, call: Call) -> Any:
        hook = self.world.webhook
        info: dict[str, Any] = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if hook.url:
            info["max_connections"] = hook.max_connections
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        if self.world.allowed_updates != DEFAULT_ALLOWED_UPDATES:
            info["allowed_updates"] = sorted(self.world.allowed_updates)
        return info

    async def get_chat(self, call: Call) -> Any:
        chat = self._chat(call.params, sending=False)
        return {
            **chat.user.chat_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    async def answer_callback_query(self, call: Call) -> Any:
        params = call.params
        query_id = params.get_str("callback_query_id")
        record = self.world.callback_queries.get(query_id or "")
        if record is None or record.answer is not None:
            raise bad_request(QUERY_INVALID)
        text = params.get_str("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        answer = {
            "callback_query_id": record.id,
            "chat_id": record.chat_id,
            "message_id": record.message_id,
            "data": record.data,
            "text": text,
            "show_alert": params.get_bool("show_alert"),
            "url": params.get_str("url"),
            "cache_time": params.get_int("cache_time", "wrong cache time") or 0,
            "date": self.world.now(),
        }
        record.answer = answer
        self.world.callback_answers.append(answer)
        chat = self.world.chats.get(record.chat_id)
        if chat is not None:
            self.world.record_event(chat, "callback_answer", answer=answer)
        else:
            self.world.notifier.notify()
        return True
