"""The Bot API side of the sandbox: ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``.

Requests are accepted exactly as python-telegram-bot sends them: ``GET`` with a query string,
``POST`` with ``application/json``, ``application/x-www-form-urlencoded`` or
``multipart/form-data``. In form bodies PTB sends every non-string value JSON-encoded
(``chat_id=42``, ``reply_markup={"inline_keyboard": ...}``, ``disable_notification=true``), so
parameters are read with their Bot API type, as Telegram's server does. Method names are
case-insensitive, as in Telegram.

Every answer uses Telegram's envelope ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "...", "parameters": {...}}`` with Telegram's
descriptions, so PTB raises the same exceptions it raises in production (``BadRequest``,
``Forbidden``, ``RetryAfter``, ``InvalidToken``, ``Conflict``, ``NetworkError``/``TimedOut``).
See ``sandbox/README.md`` for the list of methods and errors.
"""

from __future__ import annotations

import json
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.media import guess_extension, image_mime, image_size
from sandbox.policy import SENDING_METHODS, Fault, FaultInjector, RateLimiter, Stats
from sandbox.state import (
    DEFAULT_ALLOWED_UPDATES,
    ChatState,
    StoredFile,
    StoredMessage,
    World,
)
from sandbox.textparse import EntityParseError, ParsedText, parse_text

__all__ = ["ApiError", "BotApi", "BotIdentity", "Params", "Upload", "read_params"]

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_UPLOAD_DOCUMENT = 50 * 1024 * 1024
MAX_UPLOAD_PHOTO = 10 * 1024 * 1024
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_REQUEST_BODY = MAX_UPLOAD_DOCUMENT + 1024 * 1024

_LOGGER = logging.getLogger("sandbox.botapi")
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_COMMAND = re.compile(r"[a-z0-9_]{1,32}")
_URL = re.compile(r"(?:https?|tg)://\S+", re.IGNORECASE)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_FILE_FOLDERS = {
    "audio": "music",
    "video": "videos",
    "animation": "animations",
    "voice": "voice",
    "sticker": "stickers",
}
# Real Bot API methods the sandbox does not simulate (answered with a clear 400).
_UNSIMULATED = frozenset(
    m.lower()
    for m in [
        "forwardMessage",
        "forwardMessages",
        "copyMessage",
        "copyMessages",
        "sendMediaGroup",
        "sendVideoNote",
        "sendPaidMedia",
        "sendVenue",
        "sendPoll",
        "sendChecklist",
        "sendDice",
        "sendInvoice",
        "sendGame",
        "editMessageMedia",
        "editMessageLiveLocation",
        "stopMessageLiveLocation",
        "editMessageChecklist",
        "stopPoll",
        "answerInlineQuery",
        "answerWebAppQuery",
        "getUserProfilePhotos",
        "banChatMember",
        "unbanChatMember",
        "restrictChatMember",
        "promoteChatMember",
        "leaveChat",
        "getChatAdministrators",
        "getChatMemberCount",
        "setChatPhoto",
        "deleteChatPhoto",
        "setChatTitle",
        "setChatDescription",
        "exportChatInviteLink",
        "createChatInviteLink",
        "getStickerSet",
        "uploadStickerFile",
        "getMyDefaultAdministratorRights",
        "setMyDefaultAdministratorRights",
        "getUserChatBoosts",
        "getBusinessConnection",
        "getAvailableGifts",
        "sendGift",
        "getStarTransactions",
    ]
)
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)


class ApiError(Exception):
    """An error answer in Telegram's envelope."""

    OUTCOMES = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
        413: "too_large",
        429: "rate_limited",
    }

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    @property
    def outcome(self) -> str:
        return self.OUTCOMES.get(self.code, f"error_{self.code}")

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def retry_after(seconds: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Request parameters with Bot API typing (form values arrive as JSON-encoded strings)."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload]) -> None:
        self.values = values
        self.files = files

    def get_raw(self, name: str) -> Any:
        return self.values.get(name)

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        return json.dumps(value)

    def get_int(self, name: str, error: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(error)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise bad_request(error)

    def get_float(self, name: str, error: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise bad_request(error)
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise bad_request(error) from None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(error) from None
        return value

    def get_file(self, name: str) -> Upload | str | None:
        if name in self.files:
            return self.files[name]
        value = self.get_str(name)
        if value and value.startswith("attach://"):
            return self.files.get(value[len("attach://") :])
        return value


async def read_params(request: web.Request) -> Params:
    """Collect query string and body parameters the way Telegram accepts them."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.method == "POST" and request.body_exists:
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.read()
            if body.strip():
                try:
                    data = json.loads(body)
                except ValueError:
                    raise bad_request("can't parse JSON encoded request body") from None
                if not isinstance(data, dict):
                    raise bad_request("can't parse JSON encoded request body")
                values.update(data)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.file.read(), value.filename, value.content_type)
                else:
                    values[key] = value
    return Params(values, files)


@dataclass(frozen=True)
class BotIdentity:
    username: str
    first_name: str

    def user(self, token: str) -> dict[str, Any]:
        """The bot's ``User``; its id is the numeric part of the token, as in Telegram."""
        return {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


@dataclass
class _Call:
    token: str
    method: str
    params: Params


class _Poll:
    """One waiting getUpdates request (a newer one terminates it with 409, like Telegram)."""

    terminated = False


Handler = Callable[[_Call], Awaitable[Any]]


class BotApi:
    """Handlers of the Bot API methods on one :class:`~sandbox.state.World`."""

    def __init__(
        self,
        world: World,
        limiter: RateLimiter,
        faults: FaultInjector,
        stats: Stats,
        identity: BotIdentity,
        tokens: frozenset[str] | None,
    ) -> None:
        self.world = world
        self.limiter = limiter
        self.faults = faults
        self.stats = stats
        self.identity = identity
        self.tokens = tokens
        self._poll: _Poll | None = None
        # The bot id the control API uses (my_chat_member): that of the last token seen.
        self._bot_token = min(tokens) if tokens else "1000000001:sandbox"
        self.methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._handlers().items():
            self.methods[name.lower()] = (name, handler)

    def _handlers(self) -> dict[str, Handler]:
        return {
            "getMe": self.get_me,
            "logOut": self.ok_true,
            "close": self.ok_true,
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "getChat": self.get_chat,
            "sendMessage": self.send_message,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
            "sendAudio": self._file_sender("audio"),
            "sendVideo": self._file_sender("video"),
            "sendAnimation": self._file_sender("animation"),
            "sendVoice": self._file_sender("voice"),
            "sendSticker": self._file_sender("sticker"),
            "sendContact": self.send_contact,
            "pinChatMessage": self.pin_chat_message,
            "unpinChatMessage": self.unpin_chat_message,
            "unpinAllChatMessages": self.unpin_all_chat_messages,
            "getChatMember": self.get_chat_member,
            "setMessageReaction": self.set_message_reaction,
            "sendLocation": self.send_location,
            "sendChatAction": self.send_chat_action,
            "editMessageText": self.edit_message_text,
            "editMessageCaption": self.edit_message_caption,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "deleteMessages": self.delete_messages,
            "answerCallbackQuery": self.answer_callback_query,
            "getFile": self.get_file,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setMyDescription": self._profile_setter("description"),
            "getMyDescription": self._profile_getter("description"),
            "setMyShortDescription": self._profile_setter("short_description"),
            "getMyShortDescription": self._profile_getter("short_description"),
            "setMyName": self._profile_setter("name"),
            "getMyName": self._profile_getter("name"),
            "setChatMenuButton": self.ok_true,
            "getChatMenuButton": self.get_chat_menu_button,
        }

    @property
    def polling(self) -> bool:
        """Whether a getUpdates long poll is waiting right now (tests synchronise on it)."""
        return self._poll is not None

    def bot_user(self) -> dict[str, Any]:
        """The bot's ``User`` object (id from the most recently used token)."""
        return self.identity.user(self._bot_token)

    # -- HTTP entry points ----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        asked = request.match_info["method"]
        entry = self.methods.get(asked.lower())
        method = entry[0] if entry else asked
        if not _TOKEN.fullmatch(token):
            return self._answer(method, ApiError(404, "Not Found"))
        if self.tokens is not None and token not in self.tokens:
            return self._answer(method, ApiError(401, "Unauthorized"))
        if entry is None:
            if asked.lower() in _UNSIMULATED:
                # A real method the sandbox lacks: say so (a 404 would make PTB blame the token).
                return self._answer(
                    method,
                    bad_request(f"METHOD_NOT_SIMULATED: the Telegram sandbox lacks {asked}"),
                )
            return self._answer(method, ApiError(404, "Not Found"))
        self._bot_token = token
        fault = self.faults.pick(method)
        if fault is not None and not fault.after_delivery:
            return await self._inject(request, method, fault, None)
        status, body = await self._execute(request, token, method, entry[1])
        if fault is not None:
            return await self._inject(request, method, fault, (status, body))
        self.stats.count(method, "ok" if status == 200 else _outcome(status))
        return web.json_response(body, status=status)

    async def handle_file(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        if not _TOKEN.fullmatch(token):
            return self._answer("file", ApiError(404, "Not Found"))
        if self.tokens is not None and token not in self.tokens:
            return self._answer("file", ApiError(401, "Unauthorized"))
        stored = self.world.files_by_path.get(request.match_info["path"])
        if stored is None:
            return self._answer("file", ApiError(404, "Not Found"))
        self.stats.count("file", "ok")
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _execute(
        self, request: web.Request, token: str, method: str, handler: Handler
    ) -> tuple[int, dict[str, Any]]:
        try:
            params = await read_params(request)
            result = await handler(_Call(token, method, params))
        except ApiError as error:
            return error.code, error.body()
        except Exception as error:
            # A sandbox bug must be loud and readable, not a bare 500 page.
            _LOGGER.exception("sandbox failed on %s", method)
            return 500, ApiError(500, f"Internal Server Error: sandbox bug: {error!r}").body()
        return 200, {"ok": True, "result": result}

    def _answer(self, method: str, error: ApiError) -> web.Response:
        self.stats.count(method, error.outcome)
        return web.json_response(error.body(), status=error.code)

    async def _inject(
        self,
        request: web.Request,
        method: str,
        fault: Fault,
        delivered: tuple[int, dict[str, Any]] | None,
    ) -> web.StreamResponse:
        suffix = "_after_delivery" if delivered is not None else ""
        self.stats.count(method, f"fault_{fault.kind}{suffix}")
        if fault.kind == "retry_after":
            error = retry_after(fault.retry_after)
            return web.json_response(error.body(), status=429)
        if fault.kind == "server_error":
            return web.json_response(ApiError(500, "Internal Server Error").body(), status=500)
        if fault.kind == "bad_gateway":
            return web.Response(status=502, text="<html><body>502 Bad Gateway</body></html>")
        if fault.kind == "stall":
            await self.world.notifier.wait_for(lambda: False, fault.stall_seconds)
            if fault.stall_then == "answer" and not self.world.notifier.closed:
                if delivered is None:
                    token = request.match_info["token"]
                    delivered = await self._execute(
                        request, token, method, self.methods[method.lower()][1]
                    )
                return web.json_response(delivered[1], status=delivered[0])
        # "reset", or a stall that ends in a reset: close the connection without answering.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    # -- helpers --------------------------------------------------------------------------

    def _chat(self, params: Params, *, sending: bool = True) -> ChatState:
        """The private chat named by ``chat_id``, enforcing Telegram's access rules."""
        raw = params.get_raw("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(str(raw).strip())
        except ValueError:
            raise bad_request("chat not found") from None
        chat = self.world.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if sending and chat.user.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if sending and not chat.user.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        return chat

    def _flood(self, method: str, chat: ChatState) -> None:
        if method.lower() in SENDING_METHODS:
            wait = self.limiter.acquire(chat.user.id)
            if wait is not None:
                raise retry_after(wait)

    @staticmethod
    def _parse(
        text: str, parse_mode: str | None, entities: Any, *, caption: bool = False
    ) -> ParsedText:
        if entities is not None and not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        try:
            return parse_text(text, parse_mode, entities)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
        except ValueError:
            raise bad_request("unsupported parse_mode") from None

    def _reply_markup(self, params: Params, *, inline_only: bool = False) -> dict[str, Any] | None:
        markup = params.get_json("reply_markup", "can't parse reply keyboard markup JSON object")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            _validate_inline_keyboard(markup["inline_keyboard"])
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            _validate_reply_keyboard(markup["keyboard"])
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise bad_request("can't parse reply keyboard markup JSON object")

    def _reply_to(self, chat: ChatState, params: Params) -> StoredMessage | None:
        reply = params.get_json("reply_parameters", "can't parse reply parameters JSON object")
        message_id: int | None
        allow_missing = params.get_bool("allow_sending_without_reply")
        if isinstance(reply, dict):
            try:
                message_id = int(reply["message_id"])
            except (KeyError, TypeError, ValueError):
                raise bad_request("message to be replied not found") from None
            allow_missing = bool(reply.get("allow_sending_without_reply", allow_missing))
        elif reply is not None:
            raise bad_request("can't parse reply parameters JSON object")
        else:
            message_id = params.get_int("reply_to_message_id", "message to be replied not found")
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return target

    def _store(self, call: _Call, chat: ChatState, kind: str, **fields: Any) -> dict[str, Any]:
        """Deliver a bot message to ``chat`` and return Telegram's ``Message`` object."""
        params = call.params
        message = StoredMessage(
            chat_id=chat.user.id,
            message_id=chat.allocate_id(),
            date=self.world.now(),
            from_bot=True,
            sender=self.identity.user(call.token),
            kind=kind,
            protect_content=params.get_bool("protect_content"),
            disable_notification=params.get_bool("disable_notification"),
            **fields,
        )
        chat.messages[message.message_id] = message
        markup = message.reply_markup or {}
        if "keyboard" in markup:
            chat.reply_keyboard = markup
            chat.reply_keyboard_message_id = message.message_id
        elif markup.get("remove_keyboard"):
            chat.reply_keyboard = None
            chat.reply_keyboard_message_id = None
        self.world.record_event(chat, "message", message_id=message.message_id)
        return message.to_api(chat.user.chat_api())

    def _editable(self, params: Params) -> tuple[ChatState, StoredMessage]:
        if params.get_raw("inline_message_id") is not None and params.get_raw("chat_id") is None:
            raise bad_request("message to edit not found")
        chat = self._chat(params)
        message_id = params.get_int("message_id", "message to edit not found")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return chat, message

    def _apply_edit(self, chat: ChatState, message: StoredMessage, **changes: Any) -> Any:
        message.history.append(message.snapshot())
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = self.world.now()
        message.version += 1
        self.world.record_event(chat, "edit", message_id=message.message_id)
        return message.to_api(chat.user.chat_api())

    def _caption(self, params: Params) -> tuple[str | None, ParsedText | None]:
        caption = params.get_str("caption")
        if caption is None:
            return None, ParsedText("", ())
        parsed = self._parse(
            caption,
            params.get_str("parse_mode"),
            params.get_json("caption_entities", "can't parse entities JSON object"),
        )
        if len(parsed.text) > MAX_CAPTION:
            raise bad_request("message caption is too long")
        return caption, parsed

    # -- methods --------------------------------------------------------------------------

    async def ok_true(self, call: _Call) -> Any:
        return True

    async def get_me(self, call: _Call) -> Any:
        return {
            **self.identity.user(call.token),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def get_updates(self, call: _Call) -> Any:
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
        poll = self._poll = _Poll()
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

    async def set_webhook(self, call: _Call) -> Any:
        url = call.params.get_str("url") or ""
        if url and not url.lower().startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.world.webhook_url = url
        if call.params.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def delete_webhook(self, call: _Call) -> Any:
        self.world.webhook_url = ""
        if call.params.get_bool("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def get_webhook_info(self, call: _Call) -> Any:
        info: dict[str, Any] = {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self.world.allowed_updates != DEFAULT_ALLOWED_UPDATES:
            info["allowed_updates"] = sorted(self.world.allowed_updates)
        return info

    async def get_chat(self, call: _Call) -> Any:
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

    async def send_message(self, call: _Call) -> Any:
        params = call.params
        chat = self._chat(params)
        text = params.get_str("text")
        if not text:
            raise bad_request("message text is empty")
        parse_mode = params.get_str("parse_mode")
        parsed = self._parse(
            text, parse_mode, params.get_json("entities", "can't parse entities JSON object")
        )
        if not parsed.text:
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        preview = params.get_json("link_preview_options", "can't parse link preview options")
        self._flood(call.method, chat)
        return self._store(
            call,
            chat,
            "text",
            text=text,
            parse_mode=parse_mode,
            parsed=parsed,
            reply_markup=markup,
            reply_to=reply_to,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )

    async def send_document(self, call: _Call) -> Any:
        return await self._send_file(call, "document")

    async def send_photo(self, call: _Call) -> Any:
        return await self._send_file(call, "photo")

    async def _send_file(self, call: _Call, kind: str) -> Any:
        params = call.params
        chat = self._chat(params)
        source = params.get_file(kind)
        if source is None or source == "":
            raise bad_request(f"there is no {kind} in the request")
        stored = self._file_from(source, kind)
        caption, parsed = self._caption(params)
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._flood(call.method, chat)
        if stored.file_id not in self.world.files:
            self.world.add_file(stored)
        return self._store(
            call,
            chat,
            kind,
            caption=caption,
            parse_mode=params.get_str("parse_mode"),
            parsed=parsed,
            file=stored,
            reply_markup=markup,
            reply_to=reply_to,
        )

    def _file_from(self, source: Upload | str, kind: str) -> StoredFile:
        if isinstance(source, str):
            existing = self.world.files.get(source)
            if existing is not None:
                if existing.kind != kind and not (
                    kind == "document" and existing.kind not in ("photo", "sticker")
                ):
                    raise bad_request(
                        f"can't use file of type {existing.kind.capitalize()} as "
                        f"{kind.capitalize()}"
                    )
                return existing
            if source.lower().startswith(("http://", "https://")):
                # The sandbox has no internet access; Telegram would download the URL.
                raise bad_request("failed to get HTTP URL content")
            raise bad_request("wrong file identifier/HTTP URL specified")
        data = source.data
        if not data:
            raise bad_request("file must be non-empty")
        width = height = 0
        if kind == "photo":
            if len(data) > MAX_UPLOAD_PHOTO:
                raise bad_request("PHOTO_SAVE_FILE_INVALID")
            size = image_size(data)
            if size is None:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10_000 or width == 0 or height == 0:
                raise bad_request("PHOTO_INVALID_DIMENSIONS")
        elif len(data) > MAX_UPLOAD_DOCUMENT:
            raise ApiError(413, "Request Entity Too Large")
        mime = source.content_type
        if not mime or mime == "application/octet-stream":
            mime = (mimetypes.guess_type(source.filename or "")[0]) or mime
        file_id, unique_id, seq = self.world.new_file_ids(kind)
        if kind == "photo":
            # Telegram re-encodes photos; the sandbox keeps the bytes, so name them truthfully.
            mime = image_mime(data)
            path = f"photos/file_{seq}{guess_extension(None, mime, '.jpg')}"
        else:
            folder = _FILE_FOLDERS.get(kind, "documents")
            path = f"{folder}/file_{seq}{guess_extension(source.filename, mime, '')}"
        return StoredFile(
            file_id=file_id,
            file_unique_id=unique_id,
            kind=kind,
            data=data,
            file_path=path,
            file_name=source.filename
            if kind in ("document", "audio", "video", "animation")
            else None,
            mime_type=mime,
            width=width,
            height=height,
        )

    def _file_sender(self, kind: str) -> Handler:
        async def sender(call: _Call) -> Any:
            return await self._send_file(call, kind)

        return sender

    async def send_contact(self, call: _Call) -> Any:
        params = call.params
        chat = self._chat(params)
        phone = params.get_str("phone_number")
        first_name = params.get_str("first_name")
        if not phone:
            raise bad_request("phone number is empty")
        if not first_name:
            raise bad_request("first name is empty")
        contact: dict[str, Any] = {"phone_number": phone, "first_name": first_name}
        for key in ("last_name", "vcard"):
            value = params.get_str(key)
            if value:
                contact[key] = value
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._flood(call.method, chat)
        return self._store(
            call, chat, "contact", contact=contact, reply_markup=markup, reply_to=reply_to
        )

    async def pin_chat_message(self, call: _Call) -> Any:
        chat = self._chat(call.params)
        message_id = call.params.get_int("message_id", "message to pin not found")
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to pin not found")
        chat.pinned.append(message.message_id)
        self.world.record_event(chat, "pin", message_id=message.message_id)
        return True

    async def unpin_chat_message(self, call: _Call) -> Any:
        chat = self._chat(call.params)
        message_id = call.params.get_int("message_id", "message to unpin not found")
        if not chat.pinned:
            raise bad_request("message to unpin not found")
        target = message_id if message_id is not None else chat.pinned[-1]
        if target not in chat.pinned:
            raise bad_request("message to unpin not found")
        chat.pinned.remove(target)
        self.world.record_event(chat, "unpin", message_id=target)
        return True

    async def unpin_all_chat_messages(self, call: _Call) -> Any:
        chat = self._chat(call.params)
        chat.pinned.clear()
        self.world.record_event(chat, "unpin")
        return True

    async def get_chat_member(self, call: _Call) -> Any:
        chat = self._chat(call.params, sending=False)
        user_id = call.params.get_int("user_id", "user not found")
        if user_id == int(call.token.split(":", 1)[0]):
            return {"status": "member", "user": self.identity.user(call.token)}
        if user_id != chat.user.id:
            raise bad_request("user not found")
        return {"status": "member", "user": chat.user.to_api()}

    async def set_message_reaction(self, call: _Call) -> Any:
        chat = self._chat(call.params)
        message_id = call.params.get_int("message_id", "message to react not found")
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to react not found")
        reaction = call.params.get_json("reaction", "can't parse reaction types JSON object")
        self.world.record_event(
            chat, "reaction", message_id=message.message_id, reaction=reaction or []
        )
        return True

    async def send_location(self, call: _Call) -> Any:
        params = call.params
        chat = self._chat(params)
        latitude = params.get_float("latitude", "wrong latitude")
        longitude = params.get_float("longitude", "wrong longitude")
        if latitude is None or not -90 <= latitude <= 90:
            raise bad_request("wrong latitude")
        if longitude is None or not -180 <= longitude <= 180:
            raise bad_request("wrong longitude")
        location: dict[str, Any] = {"latitude": latitude, "longitude": longitude}
        accuracy = params.get_float("horizontal_accuracy", "wrong horizontal accuracy")
        if accuracy is not None:
            location["horizontal_accuracy"] = accuracy
        markup = self._reply_markup(params)
        reply_to = self._reply_to(chat, params)
        self._flood(call.method, chat)
        return self._store(
            call, chat, "location", location=location, reply_markup=markup, reply_to=reply_to
        )

    async def send_chat_action(self, call: _Call) -> Any:
        params = call.params
        chat = self._chat(params)
        action = params.get_str("action")
        if action not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        record = {"action": action, "date": self.world.now()}
        chat.actions.append(record)
        self.world.record_event(chat, "chat_action", action=action)
        return True

    async def edit_message_text(self, call: _Call) -> Any:
        params = call.params
        chat, message = self._editable(params)
        text = params.get_str("text")
        if not text:
            raise bad_request("message text is empty")
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        parse_mode = params.get_str("parse_mode")
        parsed = self._parse(
            text, parse_mode, params.get_json("entities", "can't parse entities JSON object")
        )
        if not parsed.text:
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT:
            raise bad_request("message is too long")
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        markup = self._reply_markup(params, inline_only=True)
        if parsed == message.parsed and _same_markup(markup, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        preview = params.get_json("link_preview_options", "can't parse link preview options")
        return self._apply_edit(
            chat,
            message,
            text=text,
            parse_mode=parse_mode,
            parsed=parsed,
            reply_markup=markup,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )

    async def edit_message_caption(self, call: _Call) -> Any:
        params = call.params
        chat, message = self._editable(params)
        if message.file is None:
            raise bad_request("there is no caption in the message to edit")
        caption, parsed = self._caption(params)
        markup = self._reply_markup(params, inline_only=True)
        if parsed == message.parsed and _same_markup(markup, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(
            chat,
            message,
            caption=caption,
            parse_mode=params.get_str("parse_mode"),
            parsed=parsed,
            reply_markup=markup,
        )

    async def edit_message_reply_markup(self, call: _Call) -> Any:
        params = call.params
        chat, message = self._editable(params)
        markup = self._reply_markup(params, inline_only=True)
        if _same_markup(markup, message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        return self._apply_edit(chat, message, reply_markup=markup)

    async def delete_message(self, call: _Call) -> Any:
        params = call.params
        chat = self._chat(params, sending=False)
        message_id = params.get_int("message_id", "message to delete not found")
        self._delete(chat, message_id)
        return True

    async def delete_messages(self, call: _Call) -> Any:
        params = call.params
        chat = self._chat(params, sending=False)
        ids = params.get_json("message_ids", "can't parse message identifiers")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise bad_request("message identifiers are not specified")
        deleted = 0
        for message_id in ids:
            message = chat.messages.get(message_id) if isinstance(message_id, int) else None
            if message is not None and not message.deleted:
                self._delete(chat, message_id)
                deleted += 1
        if deleted == 0:
            raise bad_request("message to delete not found")
        return True

    def _delete(self, chat: ChatState, message_id: int | None) -> None:
        message = chat.messages.get(message_id) if message_id is not None else None
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        message.version += 1
        self.world.record_event(chat, "delete", message_id=message.message_id)

    async def answer_callback_query(self, call: _Call) -> Any:
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

    async def get_file(self, call: _Call) -> Any:
        file_id = call.params.get_str("file_id") or ""
        stored = self.world.files.get(file_id)
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if stored.size > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    # -- commands menu --------------------------------------------------------------------

    def _scope_key(self, params: Params) -> tuple[str, int | None, int | None, str]:
        scope = params.get_json("scope", "can't parse BotCommandScope JSON object")
        if scope is None:
            scope = {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        chat_id: int | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            try:
                chat_id = int(scope["chat_id"])
            except (KeyError, TypeError, ValueError):
                raise bad_request("chat not found") from None
            if chat_id not in self.world.chats:
                raise bad_request("chat not found")
        if kind == "chat_member":
            try:
                user_id = int(scope["user_id"])
            except (KeyError, TypeError, ValueError):
                raise bad_request("user not found") from None
        language = params.get_str("language_code") or ""
        return kind, chat_id, user_id, language

    async def set_my_commands(self, call: _Call) -> Any:
        params = call.params
        commands = params.get_json("commands", "can't parse commands JSON object")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        clean: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse commands JSON object")
            name = command.get("command")
            description = command.get("description")
            if not isinstance(name, str) or not _COMMAND.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            clean.append({"command": name, "description": description})
        key = self._scope_key(params)
        if clean:
            self.world.commands[key] = clean
        else:
            self.world.commands.pop(key, None)
        self.world.notifier.notify()
        return True

    async def get_my_commands(self, call: _Call) -> Any:
        return self.world.commands.get(self._scope_key(call.params), [])

    async def delete_my_commands(self, call: _Call) -> Any:
        self.world.commands.pop(self._scope_key(call.params), None)
        self.world.notifier.notify()
        return True

    def _profile_setter(self, field: str) -> Handler:
        async def setter(call: _Call) -> Any:
            language = call.params.get_str("language_code") or ""
            value = call.params.get_str(field) or ""
            self.world.bot_profile.setdefault(field, {})[language] = value
            return True

        return setter

    def _profile_getter(self, field: str) -> Handler:
        async def getter(call: _Call) -> Any:
            language = call.params.get_str("language_code") or ""
            values = self.world.bot_profile.get(field, {})
            value = values.get(language, values.get("", ""))
            if field == "name" and not value:
                value = self.identity.first_name
            return {field: value}

        return getter

    async def get_chat_menu_button(self, call: _Call) -> Any:
        return {"type": "commands"}


def _outcome(status: int) -> str:
    return ApiError.OUTCOMES.get(status, f"error_{status}")


def _validate_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request("can't parse inline keyboard button: Text must be a String")
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not isinstance(button["url"], str) or not _URL.fullmatch(button["url"]):
                    raise bad_request("BUTTON_URL_INVALID")
            elif not any(
                key in button
                for key in (
                    "web_app",
                    "login_url",
                    "switch_inline_query",
                    "switch_inline_query_current_chat",
                    "switch_inline_query_chosen_chat",
                    "copy_text",
                    "callback_game",
                    "pay",
                )
            ):
                raise bad_request("text buttons are unallowed in the inline keyboard")


def _validate_reply_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in rows:
        for button in row:
            text = (
                button
                if isinstance(button, str)
                else (button.get("text") if isinstance(button, dict) else None)
            )
            if not isinstance(text, str):
                raise bad_request("can't parse keyboard button: Text must be a String")


def _same_markup(new: dict[str, Any] | None, current: dict[str, Any] | None) -> bool:
    def rows(markup: dict[str, Any] | None) -> Any:
        return (markup or {}).get("inline_keyboard") or []

    return bool(rows(new) == rows(current))
