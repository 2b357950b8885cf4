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

from sandbox.botapi.commands import CommandMethods
from sandbox.botapi.files import FileMethods
from sandbox.botapi.messages import MessageMethods
from sandbox.botapi.protocol import (
    MAX_REQUEST_BODY,
    ApiError,
    BotIdentity,
    Handler,
    Params,
    Upload,
    read_params,
)
from sandbox.botapi.updates import UpdateMethods
from sandbox.policy import FaultInjector, RateLimiter, Stats
from sandbox.state import World

__all__ = [
    "MAX_REQUEST_BODY",
    "ApiError",
    "BotApi",
    "BotIdentity",
    "Params",
    "Upload",
    "read_params",
]


class BotApi(UpdateMethods, MessageMethods, FileMethods, CommandMethods):
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
        super().__init__(world, limiter, faults, stats, identity, tokens)
        for name, handler in self._handlers().items():
            self.methods[name.lower()] = (name, handler)

    # The one table of routes: Bot API method name -> handler.
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
