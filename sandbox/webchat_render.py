"""How the browser chat shows a message: Telegram's parsed text + entities turned into safe HTML.

Telegram clients render the *entities* (not the bot's markup), so this does too: every character
of the text is escaped, and the only tags are the ones written here for known entity types.
A link's address must be http(s), ``tg:`` or ``mailto:``; anything else is shown as plain text.
Pure functions (no I/O), tested with tables in tests/sandbox/test_webchat_render.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from sandbox.textparse import detect_user_entities

__all__ = ["entities_to_html", "message_item", "safe_href"]

# entity type -> (opening tag, closing tag); links are built separately.
_TAGS: dict[str, tuple[str, str]] = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "spoiler": ('<span class="spoiler">', "</span>"),
    "code": ("<code>", "</code>"),
    "pre": ("<pre>", "</pre>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ("<blockquote>", "</blockquote>"),
    "mention": ('<span class="mention">', "</span>"),
    "hashtag": ('<span class="hashtag">', "</span>"),
    "bot_command": ('<span class="command">', "</span>"),
}
_LINK_TYPES = {"text_link", "url", "email", "phone_number"}
_SAFE_SCHEMES = ("http://", "https://", "tg://", "mailto:", "tel:")


def safe_href(url: str) -> str | None:
    """The address if a browser may follow it from the chat, else None (no javascript: etc.)."""
    cleaned = url.strip()
    if any(ch in cleaned for ch in "\x00\r\n\t") or not cleaned.lower().startswith(_SAFE_SCHEMES):
        return None
    return cleaned


def _link_target(entity: Mapping[str, Any], covered: str) -> str | None:
    kind = entity.get("type")
    if kind == "text_link":
        return safe_href(str(entity.get("url", "")))
    if kind == "url":
        return safe_href(covered if "://" in covered else "http://" + covered)
    if kind == "email":
        return safe_href("mailto:" + covered)
    if kind == "phone_number":
        return safe_href("tel:" + covered)
    return None


def _tags(entity: Mapping[str, Any], covered: str) -> tuple[str, str]:
    kind = str(entity.get("type"))
    if kind in _LINK_TYPES:
        href = _link_target(entity, covered)
        if href is None:
            return "", ""
        return f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer">', "</a>"
    return _TAGS.get(kind, ("", ""))


def _utf16_index(text: str) -> list[int]:
    """``index[u]`` = the Python index of UTF-16 offset ``u`` (offsets are UTF-16 in Telegram)."""
    index: list[int] = []
    for position, ch in enumerate(text):
        index.append(position)
        if ord(ch) > 0xFFFF:
            index.append(position)  # the low surrogate maps to the same character
    index.append(len(text))
    return index


def entities_to_html(text: str, entities: Sequence[Mapping[str, Any]]) -> str:
    """Escaped ``text`` with the entities' formatting; overlapping entities are closed and
    reopened around each other so the HTML stays well nested."""
    index = _utf16_index(text)
    spans: list[tuple[int, int, str, str]] = []
    for entity in entities:
        try:
            offset, length = int(entity["offset"]), int(entity["length"])
        except (KeyError, TypeError, ValueError):
            continue
        if length <= 0 or offset < 0 or offset >= len(index) - 1:
            continue
        start, end = index[offset], index[min(offset + length, len(index) - 1)]
        opening, closing = _tags(entity, text[start:end])
        if opening and end > start:
            spans.append((start, end, opening, closing))
    # Outer (longer) spans open first at the same position.
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    stack: list[tuple[int, int, str, str]] = []
    cuts = sorted({0, len(text), *(s[0] for s in spans), *(s[1] for s in spans)})
    pending = list(spans)
    for here, upto in zip(cuts, [*cuts[1:], len(text)], strict=True):
        # Close what ends here; anything opened inside it is closed and reopened.
        if any(span[1] <= here for span in stack):
            reopen = []
            while stack:
                span = stack.pop()
                out.append(span[3])
                if span[1] > here:
                    reopen.append(span)
            for span in reversed(reopen):
                out.append(span[2])
                stack.append(span)
        while pending and pending[0][0] == here:
            span = pending.pop(0)
            out.append(span[2])
            stack.append(span)
        out.append(escape(text[here:upto], quote=False))
    while stack:
        out.append(stack.pop()[3])
    return "".join(out)


def _with_auto_links(text: str, entities: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Telegram clients also link bare addresses in a bot's text; keep the bot's own entities."""
    taken = [(int(e["offset"]), int(e["offset"]) + int(e["length"])) for e in entities]
    merged = list(entities)
    for auto in detect_user_entities(text):
        if auto["type"] not in ("url", "email"):
            continue
        start, end = auto["offset"], auto["offset"] + auto["length"]
        if all(end <= a or start >= b for a, b in taken):
            merged.append(auto)
    return merged


def _file_item(view: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not view:
        return None
    mime = str(view.get("mime_type") or "")
    return {
        "url": f"/chat/files/{view['file_id']}",
        "name": view.get("file_name") or view.get("kind"),
        "size": view.get("file_size"),
        "mime_type": mime,
        "image": mime in ("image/png", "image/jpeg", "image/gif", "image/webp"),
    }


def message_item(view: Mapping[str, Any]) -> dict[str, Any]:
    """What the page needs of one message view (the control API's ``StoredMessage.view``).

    A user's own words are escaped only (their entities are the client's links, not markup);
    a bot message gets its formatting.
    """
    plain = str(view.get("plain_text") or "")
    entities = list(view.get("entities") or [])
    if view.get("from_bot"):
        html = entities_to_html(plain, _with_auto_links(plain, entities))
    else:
        html = escape(plain, quote=False)
    return {
        "id": view["message_id"],
        "from_bot": bool(view.get("from_bot")),
        "kind": view.get("kind"),
        "html": html,
        "date": view.get("date"),
        "file": _file_item(view.get("file")),
        "location": view.get("location"),
        "contact": view.get("contact"),
        "buttons": [
            [
                {
                    "text": button["text"],
                    "data": button.get("callback_data"),
                    "url": safe_href(button["url"]) if button.get("url") else None,
                }
                for button in row
            ]
            for row in view.get("inline_keyboard") or []
        ],
        "edited": bool(view.get("edited")),
        "deleted": bool(view.get("deleted")),
        "version": view.get("version", 0),
    }
