"""HTTP entry points (token check, fault injection, envelope) and the helpers the methods share."""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from sandbox.botapi.protocol import (
    MAX_CAPTION,
    ApiError,
    BotIdentity,
    Call,
    Handler,
    Params,
    Poll,
    bad_request,
    read_params,
    retry_after,
    status_outcome,
    validate_inline_keyboard,
    validate_reply_keyboard,
)
from sandbox.policy import SENDING_METHODS, Fault, FaultInjector, RateLimiter, Stats
from sandbox.state import ChatState, StoredMessage, World
from sandbox.textparse import EntityParseError, ParsedText, parse_text

_LOGGER = logging.getLogger("sandbox.botapi")
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
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


class ApiCore:
    """Dispatch and shared helpers; the method handlers live in the sibling mixins."""

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
        self._poll: Poll | None = None
        # The bot id the control API uses (my_chat_member): that of the last token seen.
        self._bot_token = min(tokens) if tokens else "1000000001:sandbox"
        self.methods: dict[str, tuple[str, Handler]] = {}

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
        self.stats.count(method, "ok" if status == 200 else status_outcome(status))
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
            result = await handler(Call(token, method, params))
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
            validate_inline_keyboard(markup["inline_keyboard"])
            return markup
        if inline_only:
            raise bad_request("inline keyboard expected")
        if "keyboard" in markup:
            validate_reply_keyboard(markup["keyboard"])
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

    def _store(self, call: Call, chat: ChatState, kind: str, **fields: Any) -> dict[str, Any]:
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
