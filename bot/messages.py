"""Pure message values: what a reply looks like, independent of how it is sent.

Renderers build these; `to_payload` turns them into Bot API JSON for the outbox, so a stored
message can be sent again after a crash exactly as it was meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_CALLBACK_BYTES = 64
MAX_TEXT = 4096


@dataclass(frozen=True)
class Button:
    """An inline button: `data` for a callback, or `url` to open a link (`web_app`: open it as a
    Telegram Mini App inside the chat; Telegram asks for an https URL)."""

    text: str
    data: str | None = None
    url: str | None = None
    web_app: bool = False

    def __post_init__(self) -> None:
        if (self.data is None) == (self.url is None):
            raise ValueError("a button needs exactly one of data or url")
        if self.web_app and self.url is None:
            raise ValueError("a web_app button needs a url")
        if self.data is not None and len(self.data.encode()) > MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True)
class KeyButton:
    """A reply-keyboard button; may ask Telegram to share the contact or location."""

    text: str
    request_contact: bool = False
    request_location: bool = False


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    keyboard: tuple[tuple[KeyButton, ...], ...] = ()
    remove_keyboard: bool = False
    link_preview: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def markup_payload(reply: Reply) -> dict[str, Any] | None:
    if reply.buttons:
        rows = []
        for row in reply.buttons:
            out = []
            for b in row:
                item: dict[str, Any] = {"text": b.text}
                if b.data is not None:
                    item["callback_data"] = b.data
                elif b.web_app:
                    item["web_app"] = {"url": b.url}
                else:
                    item["url"] = b.url
                out.append(item)
            rows.append(out)
        return {"inline_keyboard": rows}
    if reply.keyboard:
        krows = [
            [
                {
                    "text": k.text,
                    **({"request_contact": True} if k.request_contact else {}),
                    **({"request_location": True} if k.request_location else {}),
                }
                for k in row
            ]
            for row in reply.keyboard
        ]
        return {"keyboard": krows, "resize_keyboard": True, "one_time_keyboard": True}
    if reply.remove_keyboard:
        return {"remove_keyboard": True}
    return None


def to_payload(chat_id: int, reply: Reply) -> dict[str, Any]:
    """sendMessage parameters (HTML parse mode) for `reply`."""
    payload: dict[str, Any] = {"chat_id": chat_id, "text": reply.text, "parse_mode": "HTML"}
    if not reply.link_preview:
        payload["link_preview_options"] = {"is_disabled": True}
    markup = markup_payload(reply)
    if markup is not None:
        payload["reply_markup"] = markup
    payload.update(reply.extra)
    return payload
