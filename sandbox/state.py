"""The simulated Telegram world of one sandbox server: users, chats, messages, updates, files.

Everything lives in one :class:`World` object owned by a :class:`~sandbox.server.SandboxServer`
(no module-level state), mutated only from the server's event loop. Mutations are synchronous,
so a request handler never observes a half-applied change; waiters (long-polling ``getUpdates``,
the control API's *wait* endpoints) sleep on a :class:`Notifier` and re-check their condition.

Telegram facts modelled here:

* a private chat's id equals the user's id; message ids are per chat and shared by both sides;
* ``update_id`` increases monotonically for the life of the server (also across ``reset``),
  so a bot that keeps its ``offset`` across a reset never skips or re-reads updates;
* ``allowed_updates`` filters updates when they are *created* (Telegram keeps nothing else);
* a bot can't write first: a user must have started the bot (sent anything) or be created with
  ``started=True``;
* blocking the bot produces a ``my_chat_member`` update (member → kicked), unblocking the reverse.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sandbox.textparse import ParsedText

__all__ = [
    "DEFAULT_ALLOWED_UPDATES",
    "CallbackQueryRecord",
    "ChatState",
    "EditRecord",
    "Notifier",
    "StoredFile",
    "StoredMessage",
    "UserRecord",
    "WebhookState",
    "World",
]

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class Notifier:
    """Wakes every waiter whenever the world changes; waiters re-check their own condition.

    Each waiter parks on a bare future with a timer (no task per wait), so hundreds of parked
    long polls cost little when every change wakes them all.
    """

    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()
        self.closed = False

    def notify(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def close(self) -> None:
        self.closed = True
        self.notify()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``predicate()`` is true (→ True), or timeout/shutdown (→ False).

        Uses the event loop's real clock: the sandbox's injectable clock drives rate limits only.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            if predicate():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closed:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            timer = loop.call_later(remaining, _wake, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiters.discard(waiter)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


@dataclass
class UserRecord:
    id: int
    name: str
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "id"
    phone_number: str = ""
    is_premium: bool = False
    started: bool = False
    blocked: bool = False

    def to_api(self) -> dict[str, Any]:
        """The Bot API ``User`` object."""
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        if self.is_premium:
            user["is_premium"] = True
        return user

    def chat_api(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object of the private chat with this user."""
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    def view(self) -> dict[str, Any]:
        """Control API representation."""
        return {
            "id": self.id,
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
            "phone_number": self.phone_number,
            "is_premium": self.is_premium,
            "started": self.started,
            "blocked": self.blocked,
            "chat_id": self.id,
        }


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # document | photo | sticker | voice
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def to_api(self) -> Any:
        """The Bot API object for a message of this kind (``photo`` is a list of sizes)."""
        base: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.kind == "photo":
            return [{**base, "width": self.width, "height": self.height}]
        if self.kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": self.width or 512,
                "height": self.height or 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        if self.kind == "voice":
            return {**base, "duration": self.duration, "mime_type": self.mime_type or "audio/ogg"}
        if self.kind in ("audio", "video", "animation"):
            base["duration"] = self.duration
            if self.kind != "audio":
                base["width"], base["height"] = self.width, self.height
        if self.file_name:
            base["file_name"] = self.file_name
        if self.mime_type:
            base["mime_type"] = self.mime_type
        return base

    def view(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "kind": self.kind,
            "file_name": self.file_name,
            "mime_type": self.mime_type,
            "file_size": self.size,
            "width": self.width,
            "height": self.height,
            "file_path": self.file_path,
            "download_path": f"/control/files/{self.file_id}",
        }


@dataclass(frozen=True)
class EditRecord:
    """One earlier version of a message, kept when the bot edits it."""

    date: int
    text: str | None
    caption: str | None
    parse_mode: str | None
    plain_text: str
    reply_markup: dict[str, Any] | None

    def view(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "text": self.text,
            "caption": self.caption,
            "parse_mode": self.parse_mode,
            "plain_text": self.plain_text,
            "reply_markup": self.reply_markup,
        }


@dataclass
class StoredMessage:
    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: dict[str, Any]  # Bot API User object of the sender
    kind: str  # text | photo | document | location | contact | sticker | voice
    text: str | None = None  # as sent (raw markup for bot messages)
    caption: str | None = None
    parse_mode: str | None = None
    parsed: ParsedText | None = None  # text or caption after entity parsing
    reply_markup: dict[str, Any] | None = None
    file: StoredFile | None = None
    location: dict[str, Any] | None = None
    contact: dict[str, Any] | None = None
    link_preview_options: dict[str, Any] | None = None
    reply_to: StoredMessage | None = None
    protect_content: bool = False
    disable_notification: bool = False
    edit_date: int | None = None
    history: list[EditRecord] = field(default_factory=list)
    deleted: bool = False
    version: int = 0

    @property
    def plain_text(self) -> str:
        return self.parsed.text if self.parsed else ""

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            rows = self.reply_markup["inline_keyboard"]
            return rows if isinstance(rows, list) else []
        return []

    def to_api(self, chat: dict[str, Any], with_reply: bool = True) -> dict[str, Any]:
        """The Bot API ``Message`` object, as Telegram returns it now (edits applied)."""
        msg: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            msg["edit_date"] = self.edit_date
        parsed_entities = list(self.parsed.entities) if self.parsed else []
        if self.kind == "text":
            msg["text"] = self.plain_text
            if parsed_entities:
                msg["entities"] = parsed_entities
            if self.link_preview_options:
                msg["link_preview_options"] = self.link_preview_options
        elif self.kind == "location":
            msg["location"] = self.location
        elif self.kind == "contact":
            msg["contact"] = self.contact
        elif self.file is not None:
            msg[self.kind] = self.file.to_api()
            if self.caption is not None and self.parsed is not None:
                msg["caption"] = self.plain_text
                if parsed_entities:
                    msg["caption_entities"] = parsed_entities
        # Telegram echoes only inline keyboards in Message.reply_markup.
        if self.inline_keyboard:
            msg["reply_markup"] = {"inline_keyboard": self.inline_keyboard}
        if self.protect_content:
            msg["has_protected_content"] = True
        if with_reply and self.reply_to is not None:
            msg["reply_to_message"] = self.reply_to.to_api(chat, with_reply=False)
        return msg

    def view(self) -> dict[str, Any]:
        """Control API representation (what tests read back)."""
        markup = self.reply_markup or {}
        inline = [
            [
                {
                    "text": str(button.get("text", "")),
                    "callback_data": button.get("callback_data"),
                    "url": button.get("url"),
                }
                for button in row
            ]
            for row in self.inline_keyboard
        ]
        reply_keyboard = None
        if "keyboard" in markup:
            reply_keyboard = [
                [_reply_button(button) for button in row] for row in markup["keyboard"]
            ]
        return {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "date": self.date,
            "from_bot": self.from_bot,
            "kind": self.kind,
            "text": self.text,
            "caption": self.caption,
            "plain_text": self.plain_text,
            "parse_mode": self.parse_mode,
            "entities": list(self.parsed.entities) if self.parsed else [],
            "reply_markup": self.reply_markup,
            "inline_keyboard": inline,
            "reply_keyboard": reply_keyboard,
            "reply_keyboard_options": {
                key: markup[key]
                for key in (
                    "resize_keyboard",
                    "one_time_keyboard",
                    "is_persistent",
                    "input_field_placeholder",
                    "selective",
                )
                if key in markup
            }
            if reply_keyboard is not None
            else None,
            "remove_keyboard": bool(markup.get("remove_keyboard")),
            "force_reply": bool(markup.get("force_reply")),
            "document": self.file.view() if self.file and self.kind == "document" else None,
            "photo": self.file.view() if self.file and self.kind == "photo" else None,
            "file": self.file.view() if self.file else None,
            "location": self.location,
            "contact": self.contact,
            "link_preview_options": self.link_preview_options,
            "reply_to_message_id": self.reply_to.message_id if self.reply_to else None,
            "protect_content": self.protect_content,
            "disable_notification": self.disable_notification,
            "edited": bool(self.history),
            "edit_date": self.edit_date,
            "edit_history": [record.view() for record in self.history],
            "deleted": self.deleted,
            "version": self.version,
        }

    def snapshot(self) -> EditRecord:
        return EditRecord(
            date=self.edit_date or self.date,
            text=self.text,
            caption=self.caption,
            parse_mode=self.parse_mode,
            plain_text=self.plain_text,
            reply_markup=self.reply_markup,
        )


def _reply_button(button: Any) -> dict[str, Any]:
    if isinstance(button, str):
        return {"text": button, "request_contact": False, "request_location": False}
    return {
        "text": str(button.get("text", "")),
        "request_contact": bool(button.get("request_contact")),
        "request_location": bool(button.get("request_location")),
    }


@dataclass
class ChatState:
    user: UserRecord
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    next_message_id: int = 1
    reply_keyboard: dict[str, Any] | None = None  # the keyboard the user currently has
    reply_keyboard_message_id: int | None = None
    actions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    pinned: list[int] = field(default_factory=list)

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id

    def bot_messages(self) -> Iterator[StoredMessage]:
        return (m for m in self.messages.values() if m.from_bot)


@dataclass
class CallbackQueryRecord:
    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    forged: bool
    created: float
    answer: dict[str, Any] | None = None


@dataclass
class WebhookState:
    """What setWebhook set, and how delivery to it goes (getWebhookInfo reads it)."""

    url: str = ""
    secret_token: str = ""
    max_connections: int = 40
    # Bumped by every setWebhook/deleteWebhook: a delivery waiting out its backoff tries again
    # at once, as Telegram does after setWebhook.
    generation: int = 0
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


class World:
    """All simulated Telegram state of one sandbox server."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.notifier = Notifier()
        # Monotonic for the server's life: survives reset() on purpose (see module docstring).
        self._update_ids = itertools.count(100_000_001)
        self._callback_ids = itertools.count(1)
        self._event_seq = itertools.count(1)
        self._file_seq = itertools.count(1)
        self.clear()

    def clear(self) -> None:
        """Forget users, chats, updates, files, menus and answers (the control API's reset)."""
        self.users: dict[int, UserRecord] = {}
        self.users_by_name: dict[str, UserRecord] = {}
        self.chats: dict[int, ChatState] = {}
        self.updates: list[dict[str, Any]] = []
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.dropped_updates = 0
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.commands: dict[tuple[str, int | None, int | None, str], list[dict[str, str]]] = {}
        self.callback_queries: dict[str, CallbackQueryRecord] = {}
        self.callback_answers: list[dict[str, Any]] = []
        self.bot_profile: dict[str, dict[str, str]] = {}
        self.webhook = WebhookState()
        self.notifier.notify()

    @property
    def webhook_url(self) -> str:
        return self.webhook.url

    # -- users ----------------------------------------------------------------------------

    def user_id_for(self, name: str) -> int:
        """A stable id derived from the name, so a restarted sandbox gives 'siti' the same id."""
        digest = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
        candidate = 100_000_000 + digest % 6_900_000_000
        while candidate in self.users:
            candidate += 1
        return candidate

    def chat(self, chat_id: int) -> ChatState | None:
        return self.chats.get(chat_id)

    # -- updates --------------------------------------------------------------------------

    def push_update(self, kind: str, payload: dict[str, Any]) -> int | None:
        """Queue an update for getUpdates; returns its update_id, or None if filtered out."""
        update_id = next(self._update_ids)
        if kind not in self.allowed_updates:
            self.dropped_updates += 1
            return None
        self.updates.append({"update_id": update_id, kind: payload})
        self.notifier.notify()
        return update_id

    def forget_update(self, update_id: int) -> None:
        """A webhook delivery succeeded: Telegram keeps it no longer."""
        self.updates = [u for u in self.updates if u["update_id"] != update_id]

    def confirm_updates(self, offset: int) -> None:
        """Apply getUpdates' ``offset``: earlier updates are forgotten forever."""
        if offset > 0:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        elif offset < 0:
            self.updates = self.updates[offset:]

    # -- ids ------------------------------------------------------------------------------

    def new_callback_id(self) -> str:
        return str(4_000_000_000_000_000_000 + next(self._callback_ids) * 7_919)

    def new_file_ids(self, kind: str) -> tuple[str, str, int]:
        seq = next(self._file_seq)
        digest = hashlib.sha256(f"{kind}:{seq}".encode()).hexdigest()
        prefix = {"photo": "AgAC", "document": "BQAC", "sticker": "CAAC", "voice": "AwAC"}
        return f"{prefix.get(kind, 'BAAC')}{digest[:40]}{seq}", f"AQAD{digest[40:52]}{seq}", seq

    def add_file(self, stored: StoredFile) -> None:
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored

    def record_event(self, chat: ChatState, kind: str, **fields: Any) -> None:
        chat.events.append({"seq": next(self._event_seq), "type": kind, **fields})
        self.notifier.notify()

    def last_event_seq(self, chat: ChatState) -> int:
        return chat.events[-1]["seq"] if chat.events else 0

    @staticmethod
    def now() -> int:
        return int(time.time())
