"""The control API of the sandbox (``/control/...``, JSON): simulated users and read-back.

Tests and the terminal chat client use this API (through :mod:`sandbox.client`) to act as
Telegram users — send text, share a contact or location, send media, press inline or reply
keyboard buttons, block the bot — and to read back what the bot did: the messages it sent to a
chat (with edits, deletions, keyboards, files), callback answers, chat actions and command menus.

Every *wait* endpoint long-polls until its condition holds or ``timeout`` seconds pass; a timeout
is a normal answer (``"timed_out": true``), never an error, so tests synchronise on the bot's
output instead of sleeping. Errors are ``{"error": "..."}`` with status 400 (bad input),
404 (unknown user/chat/message/button) or 409 (not possible in the current state). The full
endpoint list is in ``sandbox/README.md``.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from sandbox.control_core import ControlCore, ControlError, ControlHandler
from sandbox.media import image_mime, image_size, sample_png, sample_sticker, sample_voice
from sandbox.state import (
    CallbackQueryRecord,
    ChatState,
    StoredFile,
    StoredMessage,
    UserRecord,
)
from sandbox.textparse import ParsedText, detect_user_entities

__all__ = ["ControlApi", "ControlError"]

_LOGGER = logging.getLogger("sandbox.control")
DEFAULT_LOCATION = (-5.1477, 119.4327)  # Makassar


class ControlApi(ControlCore):
    """Control endpoints on one world; also usable in-process through its plain methods."""

    def routes(self) -> list[web.RouteDef]:
        r = self._wrap
        return [
            web.get("/control/health", r(self.health)),
            web.post("/control/reset", r(self.reset)),
            web.get("/control/bot", r(self.bot_info)),
            web.get("/control/users", r(self.list_users)),
            web.post("/control/users", r(self.create_user)),
            web.get("/control/users/{ref}", r(self.get_user)),
            web.post("/control/users/{ref}/messages", r(self.user_text)),
            web.post("/control/users/{ref}/contact", r(self.user_contact)),
            web.post("/control/users/{ref}/location", r(self.user_location)),
            web.post("/control/users/{ref}/media", r(self.user_media)),
            web.post("/control/users/{ref}/press", r(self.user_press)),
            web.post("/control/users/{ref}/press_reply", r(self.user_press_reply)),
            web.post("/control/users/{ref}/block", r(self.user_block)),
            web.post("/control/users/{ref}/unblock", r(self.user_unblock)),
            web.get("/control/chats/{chat_id}", r(self.chat_info)),
            web.get("/control/chats/{chat_id}/messages", r(self.chat_messages)),
            web.get("/control/chats/{chat_id}/messages/{message_id}", r(self.chat_message)),
            web.get("/control/chats/{chat_id}/wait", r(self.chat_wait)),
            web.get("/control/chats/{chat_id}/events", r(self.chat_events)),
            web.get("/control/chats/{chat_id}/actions", r(self.chat_actions)),
            web.get("/control/chats/{chat_id}/commands", r(self.chat_commands)),
            web.get("/control/callback_answers", r(self.callback_answers)),
            web.get("/control/commands", r(self.all_commands)),
            web.get("/control/updates", r(self.pending_updates)),
            web.get("/control/files/{file_id}", self.file_bytes),
            web.get("/control/stats", r(self.get_stats)),
            web.post("/control/stats/reset", r(self.reset_stats)),
            web.get("/control/limits", r(self.get_limits)),
            web.put("/control/limits", r(self.put_limits)),
            web.delete("/control/limits", r(self.delete_limits)),
            web.get("/control/faults", r(self.get_faults)),
            web.put("/control/faults", r(self.put_faults)),
            web.delete("/control/faults", r(self.delete_faults)),
        ]

    @staticmethod
    def _wrap(handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            try:
                result = await handler(request)
            except ControlError as error:
                return web.json_response({"error": error.message}, status=error.status)
            except Exception as error:
                _LOGGER.exception("sandbox control API failed on %s", request.path)
                return web.json_response({"error": f"sandbox bug: {error!r}"}, status=500)
            return web.json_response(result)

        return wrapped

    # -- general --------------------------------------------------------------------------

    async def health(self, request: web.Request) -> Any:
        return {"ok": True}

    async def reset(self, request: web.Request) -> Any:
        self.world.clear()
        self.stats.reset()
        self._reset_config()
        return {"ok": True}

    async def bot_info(self, request: web.Request) -> Any:
        return {
            "user": self.botapi.bot_user(),
            "webhook_url": self.world.webhook_url,
            "webhook_delivered": self.world.webhook.delivered,
            "allowed_updates": sorted(self.world.allowed_updates),
            "pending_updates": len(self.world.updates),
            "dropped_updates": self.world.dropped_updates,
            "profile": self.world.bot_profile,
        }

    # -- users ----------------------------------------------------------------------------

    async def list_users(self, request: web.Request) -> Any:
        return {"users": [user.view() for user in self.world.users.values()]}

    async def create_user(self, request: web.Request) -> Any:
        body = await self._body(request)
        user, created = self.create(body)
        return {"user": user.view(), "created": created}

    def create(self, body: dict[str, Any]) -> tuple[UserRecord, bool]:
        """Create the user named ``body["name"]`` or return the existing one (idempotent)."""
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ControlError(400, "name is required")
        name = name.strip()
        existing = self.world.users_by_name.get(name)
        if existing is not None:
            return existing, False
        allowed = {
            "name",
            "language_code",
            "first_name",
            "last_name",
            "username",
            "phone_number",
            "user_id",
            "is_premium",
            "started",
        }
        unknown = set(body) - allowed
        if unknown:
            raise ControlError(400, f"unknown user fields: {sorted(unknown)}")
        user_id = body.get("user_id")
        if user_id is None:
            user_id = self.world.user_id_for(name)
        elif not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise ControlError(400, "user_id must be a positive integer")
        elif user_id in self.world.users:
            raise ControlError(409, f"user_id {user_id} is taken by another user")
        language = body.get("language_code", "id")
        user = UserRecord(
            id=user_id,
            name=name,
            first_name=str(body.get("first_name") or name[:1].upper() + name[1:]),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=language if language else None,
            phone_number=str(body.get("phone_number") or f"+62812{user_id % 10**8:08d}"),
            is_premium=bool(body.get("is_premium", False)),
            started=bool(body.get("started", False)),
        )
        self.world.users[user.id] = user
        self.world.users_by_name[name] = user
        self.world.chats[user.id] = ChatState(user)
        self.world.notifier.notify()
        return user, True

    async def get_user(self, request: web.Request) -> Any:
        return {"user": self._user(request.match_info["ref"]).view()}

    def _user_message(
        self, user: UserRecord, kind: str, reply_to: Any = None, **fields: Any
    ) -> dict[str, Any]:
        """Put a message from ``user`` into its chat and queue the ``message`` update."""
        if user.blocked:
            raise ControlError(409, f"{user.name} has blocked the bot; unblock first")
        chat = self.world.chats[user.id]
        target = None
        if reply_to is not None:
            target = chat.messages.get(reply_to) if isinstance(reply_to, int) else None
            if target is None or target.deleted:
                raise ControlError(404, f"no message {reply_to} to reply to in this chat")
        user.started = True
        message = StoredMessage(
            chat_id=user.id,
            message_id=chat.allocate_id(),
            date=self.world.now(),
            from_bot=False,
            sender=user.to_api(),
            kind=kind,
            reply_to=target,
            **fields,
        )
        chat.messages[message.message_id] = message
        self.world.record_event(chat, "user_message", message_id=message.message_id)
        update_id = self.world.push_update("message", message.to_api(user.chat_api()))
        return {"message_id": message.message_id, "update_id": update_id}

    async def user_text(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        body = await self._body(request)
        return self.send_text(user, body.get("text"), body.get("reply_to_message_id"))

    def send_text(self, user: UserRecord, text: Any, reply_to: Any = None) -> dict[str, Any]:
        if not isinstance(text, str) or not text.strip():
            raise ControlError(400, "text must be a non-empty string")
        if len(text) > 4096:
            raise ControlError(400, "text longer than 4096 characters (a client would split it)")
        parsed = ParsedText(text, tuple(detect_user_entities(text)))
        return self._user_message(user, "text", reply_to=reply_to, text=text, parsed=parsed)

    async def user_contact(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        body = await self._body(request)
        return self.share_contact(user, body)

    def share_contact(self, user: UserRecord, body: dict[str, Any]) -> dict[str, Any]:
        """Share a contact card; by default the user's own (with ``user_id``, as Telegram)."""
        own = body.get("user_id", user.id) == user.id
        contact: dict[str, Any] = {
            "phone_number": str(body.get("phone_number") or user.phone_number),
            "first_name": str(body.get("first_name") or user.first_name),
        }
        last_name = body.get("last_name", user.last_name if own else None)
        if last_name:
            contact["last_name"] = last_name
        if body.get("user_id", user.id) is not None:
            contact["user_id"] = body.get("user_id", user.id)
        return self._user_message(user, "contact", contact=contact)

    async def user_location(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        body = await self._body(request)
        return self.share_location(user, body.get("latitude"), body.get("longitude"), body)

    def share_location(
        self, user: UserRecord, latitude: Any, longitude: Any, body: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            lat, lon = float(latitude), float(longitude)
        except (TypeError, ValueError):
            raise ControlError(400, "latitude and longitude must be numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ControlError(400, "latitude/longitude out of range")
        location: dict[str, Any] = {"latitude": lat, "longitude": lon}
        if body.get("horizontal_accuracy") is not None:
            location["horizontal_accuracy"] = float(body["horizontal_accuracy"])
        return self._user_message(user, "location", location=location)

    async def user_media(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        body = await self._body(request)
        kind = body.get("kind")
        if kind not in ("photo", "sticker", "voice", "document"):
            raise ControlError(400, "kind must be one of photo, sticker, voice, document")
        data: bytes
        if body.get("data_base64") is not None:
            try:
                data = base64.b64decode(str(body["data_base64"]), validate=True)
            except (binascii.Error, ValueError):
                raise ControlError(400, "data_base64 is not valid base64") from None
        else:
            data = {
                "photo": sample_png,
                "sticker": sample_sticker,
                "voice": sample_voice,
                "document": lambda: b"%PDF-1.4\n% sandbox sample document\n%%EOF\n",
            }[kind]()
        if not data:
            raise ControlError(400, "file must be non-empty")
        file_id, unique_id, seq = self.world.new_file_ids(kind)
        defaults = {
            "photo": ("photos", ".jpg", "image/jpeg", None),
            "sticker": ("stickers", ".webp", "image/webp", None),
            "voice": ("voice", ".oga", "audio/ogg", None),
            "document": ("documents", ".pdf", "application/pdf", "document.pdf"),
        }[kind]
        folder, ext, mime, file_name = defaults
        file_name = body.get("file_name", file_name)
        if kind == "document" and file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        width = height = 0
        if kind in ("photo", "sticker"):
            width, height = image_size(data) or (512, 512)
        if kind == "photo":
            mime = image_mime(data)
            ext = ".png" if mime == "image/png" else ext
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            data=data,
            file_path=f"{folder}/file_{seq}{ext}",
            file_name=file_name if kind == "document" else None,
            mime_type=str(body.get("mime_type") or mime),
            width=width,
            height=height,
            duration=int(body.get("duration", 2)) if kind == "voice" else 0,
        )
        self.world.add_file(stored)
        caption = body.get("caption")
        fields: dict[str, Any] = {"file": stored}
        if isinstance(caption, str) and caption:
            fields["caption"] = caption
            fields["parsed"] = ParsedText(caption, tuple(detect_user_entities(caption)))
        result = self._user_message(user, kind, **fields)
        return {**result, "file_id": file_id}

    async def user_press(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        body = await self._body(request)
        return self.press(
            user,
            text=body.get("text"),
            data=body.get("data"),
            message_id=body.get("message_id"),
            forged=bool(body.get("forged", False)),
        )

    def press(
        self,
        user: UserRecord,
        *,
        text: Any = None,
        data: Any = None,
        message_id: Any = None,
        forged: bool = False,
    ) -> dict[str, Any]:
        """Press an inline button (by visible text or callback_data), or forge a callback."""
        if user.blocked:
            raise ControlError(409, f"{user.name} has blocked the bot; unblock first")
        chat = self.world.chats[user.id]
        if message_id is not None and not isinstance(message_id, int):
            raise ControlError(400, "message_id must be an integer")
        if forged:
            if not isinstance(data, str):
                raise ControlError(400, "forged press needs data (a string)")
            target = self._forge_target(chat, message_id)
            return self._callback(user, chat, target, data, forged=True)
        if (text is None) == (data is None):
            raise ControlError(400, "give exactly one of text or data")
        candidates: list[StoredMessage]
        if message_id is not None:
            message = chat.messages.get(message_id)
            if message is None or not message.from_bot or message.deleted:
                raise ControlError(404, f"no bot message {message_id} in this chat")
            candidates = [message]
        else:
            candidates = [m for m in reversed(chat.messages.values()) if m.from_bot]
            candidates = [m for m in candidates if not m.deleted and m.inline_keyboard]
        for message in candidates:
            for row in message.inline_keyboard:
                for button in row:
                    if text is not None and button.get("text") != text:
                        continue
                    if data is not None and button.get("callback_data") != data:
                        continue
                    if "callback_data" not in button:
                        kind = next((k for k in button if k != "text"), "unknown")
                        raise ControlError(
                            409, f"button {button.get('text')!r} is a {kind} button, not a callback"
                        )
                    return self._callback(user, chat, message, button["callback_data"], False)
        wanted = f"text {text!r}" if text is not None else f"callback_data {data!r}"
        shown = candidates[0].inline_keyboard if candidates else []
        labels = [b.get("text") for row in shown for b in row]
        raise ControlError(
            404,
            f"no inline button with {wanted} in this chat"
            + (f"; the latest keyboard has {labels}" if candidates else "; no inline keyboards"),
        )

    def _forge_target(self, chat: ChatState, message_id: int | None) -> StoredMessage:
        if message_id is not None:
            message = chat.messages.get(message_id)
            if message is None or not message.from_bot:
                raise ControlError(404, f"no bot message {message_id} in this chat")
            return message
        for message in reversed(chat.messages.values()):
            if message.from_bot and not message.deleted:
                return message
        raise ControlError(404, "the bot has not sent any message to this chat yet")

    def _callback(
        self, user: UserRecord, chat: ChatState, message: StoredMessage, data: str, forged: bool
    ) -> dict[str, Any]:
        user.started = True
        query_id = self.world.new_callback_id()
        chat_api = user.chat_api()
        message_api: dict[str, Any]
        if message.deleted:
            message_api = {"chat": chat_api, "message_id": message.message_id, "date": 0}
        else:
            message_api = message.to_api(chat_api)
        payload = {
            "id": query_id,
            "from": user.to_api(),
            "message": message_api,
            "chat_instance": str((user.id * 2_654_435_761) % 10**19),
            "data": data,
        }
        self.world.callback_queries[query_id] = CallbackQueryRecord(
            id=query_id,
            chat_id=user.id,
            message_id=message.message_id,
            user_id=user.id,
            data=data,
            forged=forged,
            created=self.world.clock(),
        )
        self.world.record_event(chat, "press", message_id=message.message_id, data=data)
        update_id = self.world.push_update("callback_query", payload)
        return {
            "callback_query_id": query_id,
            "message_id": message.message_id,
            "data": data,
            "update_id": update_id,
        }

    async def user_press_reply(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        body = await self._body(request)
        return self.press_reply(user, body)

    def press_reply(self, user: UserRecord, body: dict[str, Any]) -> dict[str, Any]:
        """Press a button of the reply keyboard the chat currently shows."""
        chat = self.world.chats[user.id]
        text = body.get("text")
        if not isinstance(text, str):
            raise ControlError(400, "text (the button's label) is required")
        keyboard = chat.reply_keyboard
        if keyboard is None:
            raise ControlError(409, "the bot shows no reply keyboard in this chat")
        labels = []
        for row in keyboard.get("keyboard", []):
            for button in row:
                label = button if isinstance(button, str) else button.get("text")
                labels.append(label)
                if label != text:
                    continue
                if isinstance(button, dict) and button.get("request_contact"):
                    return self.share_contact(
                        user,
                        {"phone_number": body.get("phone_number")}
                        if body.get("phone_number")
                        else {},
                    )
                if isinstance(button, dict) and button.get("request_location"):
                    lat = body.get("latitude", DEFAULT_LOCATION[0])
                    lon = body.get("longitude", DEFAULT_LOCATION[1])
                    return self.share_location(user, lat, lon, {})
                if isinstance(button, dict) and any(
                    key in button for key in ("request_users", "request_chat", "request_poll")
                ):
                    raise ControlError(409, f"button {text!r} asks for something not simulated")
                return self.send_text(user, text)
        raise ControlError(404, f"no reply keyboard button {text!r}; the keyboard has {labels}")

    async def user_block(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        self.set_blocked(user, True)
        return {"user": user.view()}

    async def user_unblock(self, request: web.Request) -> Any:
        user = self._user(request.match_info["ref"])
        self.set_blocked(user, False)
        return {"user": user.view()}

    def set_blocked(self, user: UserRecord, blocked: bool) -> None:
        """Block/unblock the bot; Telegram tells the bot with a ``my_chat_member`` update."""
        if user.blocked == blocked:
            return
        user.blocked = blocked
        bot = self.botapi.bot_user()
        member = {"status": "member", "user": bot}
        kicked = {"status": "kicked", "user": bot, "until_date": 0}
        self.world.push_update(
            "my_chat_member",
            {
                "chat": user.chat_api(),
                "from": user.to_api(),
                "date": self.world.now(),
                "old_chat_member": member if blocked else kicked,
                "new_chat_member": kicked if blocked else member,
            },
        )
        if not blocked:
            user.started = True
        self.world.notifier.notify()
