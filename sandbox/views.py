"""What the sandbox client reads back: snapshots of bot messages, buttons, files and callback
answers, plus the client's errors. Re-exported by :mod:`sandbox.client`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


class SandboxError(Exception):
    """The control API refused a request (unknown user, no such button, bad input...)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class SandboxTimeout(AssertionError):
    """A wait for the bot ended without the expected output (an assertion failure in tests)."""


class InlineButton(NamedTuple):
    """One inline keyboard button; exactly one of ``callback_data``/``url`` is usually set."""

    text: str
    callback_data: str | None
    url: str | None


class ReplyButton(NamedTuple):
    text: str
    request_contact: bool
    request_location: bool


@dataclass(frozen=True)
class FileInfo:
    """A document/photo the bot sent; fetch the bytes with ``SandboxClient.file_bytes``."""

    file_id: str
    file_unique_id: str
    kind: str
    file_name: str | None
    mime_type: str | None
    file_size: int
    width: int
    height: int
    file_path: str

    @classmethod
    def from_view(cls, data: Mapping[str, Any] | None) -> FileInfo | None:
        if not data:
            return None
        return cls(
            file_id=data["file_id"],
            file_unique_id=data["file_unique_id"],
            kind=data["kind"],
            file_name=data.get("file_name"),
            mime_type=data.get("mime_type"),
            file_size=int(data["file_size"]),
            width=int(data.get("width") or 0),
            height=int(data.get("height") or 0),
            file_path=data["file_path"],
        )


@dataclass(frozen=True)
class MessageVersion:
    """An earlier version of an edited message."""

    date: int
    text: str | None
    caption: str | None
    parse_mode: str | None
    plain_text: str
    reply_markup: Mapping[str, Any] | None


@dataclass(frozen=True)
class BotMessage:
    """A message the bot sent, as the user sees it now.

    ``text``/``caption`` are exactly what the bot sent (markup included); ``plain_text`` is what
    the user reads (markup parsed, for text or caption). ``inline_keyboard`` is a tuple of rows
    of :class:`InlineButton`; ``reply_keyboard`` is the reply keyboard sent with this message.
    """

    chat_id: int
    message_id: int
    date: int
    kind: str  # text | photo | document | location | contact | audio | video | voice | ...
    text: str | None
    caption: str | None
    plain_text: str
    parse_mode: str | None
    entities: tuple[Mapping[str, Any], ...]
    inline_keyboard: tuple[tuple[InlineButton, ...], ...]
    reply_keyboard: tuple[tuple[ReplyButton, ...], ...] | None
    remove_keyboard: bool
    force_reply: bool
    document: FileInfo | None
    photo: FileInfo | None
    location: Mapping[str, Any] | None
    contact: Mapping[str, Any] | None
    media: FileInfo | None  # the file of any media message (photo, document, voice, ...)
    reply_to_message_id: int | None
    edited: bool
    edit_history: tuple[MessageVersion, ...]
    deleted: bool
    version: int
    reply_markup: Mapping[str, Any] | None = field(default=None, repr=False)
    link_preview_options: Mapping[str, Any] | None = field(default=None, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_view(cls, data: Mapping[str, Any]) -> BotMessage:
        reply_keyboard = None
        if data.get("reply_keyboard") is not None:
            reply_keyboard = tuple(
                tuple(
                    ReplyButton(b["text"], bool(b["request_contact"]), bool(b["request_location"]))
                    for b in row
                )
                for row in data["reply_keyboard"]
            )
        return cls(
            chat_id=int(data["chat_id"]),
            message_id=int(data["message_id"]),
            date=int(data["date"]),
            kind=data["kind"],
            text=data.get("text"),
            caption=data.get("caption"),
            plain_text=data.get("plain_text") or "",
            parse_mode=data.get("parse_mode"),
            entities=tuple(data.get("entities") or ()),
            inline_keyboard=tuple(
                tuple(InlineButton(b["text"], b.get("callback_data"), b.get("url")) for b in row)
                for row in data.get("inline_keyboard") or ()
            ),
            reply_keyboard=reply_keyboard,
            remove_keyboard=bool(data.get("remove_keyboard")),
            force_reply=bool(data.get("force_reply")),
            document=FileInfo.from_view(data.get("document")),
            photo=FileInfo.from_view(data.get("photo")),
            location=data.get("location"),
            contact=data.get("contact"),
            media=FileInfo.from_view(data.get("file")),
            reply_to_message_id=data.get("reply_to_message_id"),
            edited=bool(data.get("edited")),
            edit_history=tuple(
                MessageVersion(
                    date=v["date"],
                    text=v.get("text"),
                    caption=v.get("caption"),
                    parse_mode=v.get("parse_mode"),
                    plain_text=v.get("plain_text") or "",
                    reply_markup=v.get("reply_markup"),
                )
                for v in data.get("edit_history") or ()
            ),
            deleted=bool(data.get("deleted")),
            version=int(data.get("version") or 0),
            reply_markup=data.get("reply_markup"),
            link_preview_options=data.get("link_preview_options"),
            raw=dict(data),
        )

    @property
    def buttons(self) -> list[InlineButton]:
        """Inline buttons, rows flattened, in reading order."""
        return [button for row in self.inline_keyboard for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [button.text for button in self.buttons]

    def button_rows(self) -> list[list[tuple[str, str | None]]]:
        """Rows of ``(text, callback_data or url)`` for compact assertions."""
        return [
            [(b.text, b.callback_data if b.callback_data is not None else b.url) for b in row]
            for row in self.inline_keyboard
        ]

    def button(self, text: str) -> InlineButton:
        """The inline button with this visible text (KeyError listing the buttons if none)."""
        for button in self.buttons:
            if button.text == text:
                return button
        raise KeyError(f"no button {text!r}; buttons: {self.button_texts}")

    @property
    def reply_buttons(self) -> list[ReplyButton]:
        return [b for row in self.reply_keyboard or () for b in row]

    @property
    def file(self) -> FileInfo | None:
        return self.media or self.document or self.photo


@dataclass(frozen=True)
class CallbackPress:
    """The callback query a button press created."""

    callback_query_id: str
    message_id: int
    data: str
    update_id: int | None


@dataclass(frozen=True)
class CallbackAnswer:
    """The bot's answerCallbackQuery for a press."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int

    @classmethod
    def from_view(cls, data: Mapping[str, Any]) -> CallbackAnswer:
        return cls(
            callback_query_id=data["callback_query_id"],
            text=data.get("text"),
            show_alert=bool(data.get("show_alert")),
            url=data.get("url"),
            cache_time=int(data.get("cache_time") or 0),
        )
