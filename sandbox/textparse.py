"""Formatted text as Telegram understands it: parse modes, entities and lengths.

Telegram turns ``text`` + ``parse_mode`` into *plain text* plus a list of *entities* before it
checks limits, and answers ``400 Bad Request: can't parse entities: ...`` for malformed markup.
A bot that forgets to escape a patient's name (``A&B <x>``) or a MarkdownV2 ``.`` fails the same
way here as in production, which is why this module is strict instead of forgiving.

The parsers follow the rules of Telegram's server (tdlib ``MessageEntity.cpp``) as documented in
the Bot API "Formatting options" section; error descriptions copy Telegram's wording. Known
approximations (documented in ``sandbox/README.md``):

* lengths are counted in Unicode code points after parsing (Telegram's own count, as far as it
  is observable); entity offsets/lengths are in UTF-16 code units, as the Bot API specifies;
* leading/trailing whitespace is stripped like Telegram does, entities are clipped accordingly;
* legacy ``Markdown`` is parsed leniently (bold, italic, code, pre, links);
* automatic entities (urls, mentions, hashtags, emails) are detected only in *user* messages,
  with simple patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EntityParseError",
    "ParsedText",
    "detect_user_entities",
    "parse_text",
    "utf16_len",
]

# Characters Telegram strips from both ends of message texts and captions.
_STRIP_CHARS = (
    " \t\n\r\f\v\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
)


class EntityParseError(ValueError):
    """Malformed markup; ``str(error)`` is Telegram's description after "can't parse entities: "."""


@dataclass(frozen=True)
class ParsedText:
    """Plain text as the recipient sees it plus Bot API ``MessageEntity`` dicts."""

    text: str
    entities: tuple[dict[str, Any], ...]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (the unit of Bot API entity offsets)."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(
    text: str, parse_mode: str | None, entities: list[dict[str, Any]] | None = None
) -> ParsedText:
    """Parse ``text`` as Telegram does for the given ``parse_mode`` (case-insensitive).

    Explicit ``entities`` (the ``entities``/``caption_entities`` parameter) are used as given when
    no parse mode is set, like Telegram. Raises :class:`EntityParseError` on malformed markup and
    :class:`ValueError` for an unknown parse mode.
    """
    mode = (parse_mode or "").strip().lower()
    if mode == "":
        return _strip(text, [dict(e) for e in entities or []])
    if mode == "html":
        plain, found = _HtmlParser(text).parse()
    elif mode == "markdownv2":
        plain, found = _MarkdownV2Parser(text).parse()
    elif mode == "markdown":
        plain, found = _parse_legacy_markdown(text)
    else:
        raise ValueError(f"unsupported parse_mode {parse_mode!r}")
    return _strip(plain, found)


def _sort_key(entity: dict[str, Any]) -> tuple[int, int]:
    return (int(entity["offset"]), -int(entity["length"]))


def _strip(text: str, entities: list[dict[str, Any]]) -> ParsedText:
    stripped = text.strip(_STRIP_CHARS)
    if stripped == text:
        kept = [e for e in entities if int(e.get("length", 0)) > 0]
        return ParsedText(text, tuple(sorted(kept, key=_sort_key)))
    lead = utf16_len(text[: len(text) - len(text.lstrip(_STRIP_CHARS))])
    end_limit = lead + utf16_len(stripped)
    clipped = []
    for entity in entities:
        start = max(int(entity["offset"]), lead)
        end = min(int(entity["offset"]) + int(entity["length"]), end_limit)
        if end > start:
            clipped.append({**entity, "offset": start - lead, "length": end - start})
    return ParsedText(stripped, tuple(sorted(clipped, key=_sort_key)))


class _Builder:
    """Accumulates plain text while tracking the UTF-16 position for entity offsets."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos16 = 0

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos16 += utf16_len(chunk)

    def text(self) -> str:
        return "".join(self.parts)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

_HTML_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot);|#(\d{1,7});|#[xX]([0-9a-fA-F]{1,6});)")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ATTR = re.compile(r"""\s*([a-zA-Z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


@dataclass
class _OpenTag:
    tag: str
    type: str
    start16: int
    attrs: dict[str, str]
    byte_offset: int


class _HtmlParser:
    def __init__(self, text: str) -> None:
        self.src = text
        self.out = _Builder()
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_OpenTag] = []

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        src, i, n = self.src, 0, len(self.src)
        while i < n:
            ch = src[i]
            if ch == "&":
                match = _HTML_ENTITY.match(src, i)
                if match is not None:
                    self.out.add(_decode_entity(match))
                    i = match.end()
                    continue
                self.out.add("&")  # Telegram keeps an unknown '&...' literally
                i += 1
                continue
            if ch != "<":
                j = i
                while j < n and src[j] not in "&<":
                    j += 1
                self.out.add(src[i:j])
                i = j
                continue
            i = self._end_tag(i) if i + 1 < n and src[i + 1] == "/" else self._start_tag(i)
        if self.stack:
            raise EntityParseError(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"'
            )
        return self.out.text(), self.entities

    def _start_tag(self, begin: int) -> int:
        src, n = self.src, len(self.src)
        i = begin + 1
        while i < n and not src[i].isspace() and src[i] != ">":
            i += 1
        if i >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        tag = src[begin + 1 : i].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(
                f'Unsupported start tag "{tag}" at byte offset {self._byte_offset(begin)}'
            )
        close = src.find(">", i)
        if close < 0:
            raise EntityParseError(f"Unclosed start tag at byte offset {self._byte_offset(begin)}")
        attrs: dict[str, str] = {}
        for match in _ATTR.finditer(src[i:close]):
            if match.group(1):
                value = next((g for g in match.groups()[1:] if g is not None), "")
                attrs[match.group(1).lower()] = _unescape(value)
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        self.stack.append(
            _OpenTag(tag, _HTML_TAGS[tag], self.out.pos16, attrs, self._byte_offset(begin))
        )
        return close + 1

    def _end_tag(self, begin: int) -> int:
        src = self.src
        close = src.find(">", begin)
        if close < 0:
            raise EntityParseError(f"Unclosed end tag at byte offset {self._byte_offset(begin)}")
        name = src[begin + 2 : close].strip().lower()
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {self._byte_offset(begin)}")
        top = self.stack[-1]
        if name != top.tag:
            raise EntityParseError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{top.tag}>", found "</{name}>"'
            )
        self.stack.pop()
        self._emit(top)
        return close + 1

    def _emit(self, tag: _OpenTag) -> None:
        length = self.out.pos16 - tag.start16
        if length <= 0:
            return
        entity: dict[str, Any] = {"type": tag.type, "offset": tag.start16, "length": length}
        if tag.type == "text_link":
            href = tag.attrs.get("href", "")
            if not href:
                return  # <a> without href is plain text, as in Telegram
            user = re.fullmatch(r"tg://user\?id=(\d+)", href)
            if user:
                entity = {**entity, "type": "text_mention", "user": {"id": int(user.group(1))}}
                entity["user"].update({"is_bot": False, "first_name": ""})
            else:
                entity["url"] = href
        elif tag.type == "custom_emoji":
            entity["custom_emoji_id"] = tag.attrs.get("emoji-id", "")
        elif tag.type == "blockquote" and "expandable" in tag.attrs:
            entity["type"] = "expandable_blockquote"
        elif tag.type == "code" and self.stack and self.stack[-1].type == "pre":
            language = tag.attrs.get("class", "")
            if language.startswith("language-"):
                # <pre><code class="language-x"> is one pre entity with a language.
                self.stack[-1].attrs["language"] = language[len("language-") :]
                return
        elif tag.type == "pre" and tag.attrs.get("language"):
            entity["language"] = tag.attrs["language"]
        self.entities.append(entity)


def _decode_entity(match: re.Match[str]) -> str:
    named, dec, hexa = match.groups()
    if named:
        return _NAMED[named]
    code = int(dec) if dec else int(hexa, 16)
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return "\ufffd"


def _unescape(value: str) -> str:
    return _HTML_ENTITY.sub(lambda m: _decode_entity(m), value)


# ---------------------------------------------------------------------------------------------
# MarkdownV2
# ---------------------------------------------------------------------------------------------

_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_TYPE_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _MdOpen:
    type: str
    start16: int
    byte_offset: int
    text_index: int  # index into the output parts, for "[url]" links without "(...)"
    language: str = ""


class _MarkdownV2Parser:
    def __init__(self, text: str) -> None:
        self.src = text
        self.out = _Builder()
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_MdOpen] = []
        self.quote_start: int | None = None
        self.quote_expandable = False

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def _reserved(self, ch: str) -> EntityParseError:
        return EntityParseError(
            f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
        )

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        src, n = self.src, len(self.src)
        i = 0
        line_start = True
        while i < n:
            ch = src[i]
            in_code = bool(self.stack) and self.stack[-1].type in ("code", "pre")
            if line_start and not in_code:
                i = self._line_start(i)
                line_start = False
                if i >= n:
                    break
                ch = src[i]
            if ch == "\\" and i + 1 < n and 0 < ord(src[i + 1]) <= 126:
                self.out.add(src[i + 1])
                i += 2
                continue
            if ch == "\n":
                self.out.add(ch)
                i += 1
                line_start = True
                continue
            reserved = "`" if in_code else _MDV2_RESERVED
            if ch not in reserved:
                self.out.add(ch)
                i += 1
                continue
            if (
                self.quote_start is not None
                and src.startswith("||", i)
                and self._at_line_end(i + 2)
            ):
                self.quote_expandable = True
                i += 2
                continue
            i = self._close(i) if self._closes_top(i) else self._open(i)
        self._close_quote()
        if self.stack:
            top = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of {_MDV2_TYPE_NAMES[top.type]} entity at byte offset "
                f"{top.byte_offset}"
            )
        return self.out.text(), self.entities

    def _at_line_end(self, index: int) -> bool:
        return index >= len(self.src) or self.src[index] == "\n"

    def _line_start(self, i: int) -> int:
        src = self.src
        if src.startswith("**>", i) and self.quote_start is None:
            self.quote_start = self.out.pos16
            self.quote_expandable = True
            return i + 3
        if src.startswith(">", i):
            if self.quote_start is None:
                self.quote_start = self.out.pos16
            return i + 1
        self._close_quote(before_newline=True)
        return i

    def _close_quote(self, before_newline: bool = False) -> None:
        if self.quote_start is None:
            return
        end = self.out.pos16
        text = self.out.text()
        if before_newline and text.endswith("\n"):
            end -= 1
        if end > self.quote_start:
            kind = "expandable_blockquote" if self.quote_expandable else "blockquote"
            self.entities.append(
                {"type": kind, "offset": self.quote_start, "length": end - self.quote_start}
            )
        self.quote_start = None
        self.quote_expandable = False

    def _closes_top(self, i: int) -> bool:
        if not self.stack:
            return False
        src, kind = self.src, self.stack[-1].type
        nxt = src[i + 1] if i + 1 < len(src) else ""
        return {
            "bold": src[i] == "*",
            "italic": src[i] == "_" and nxt != "_",
            "underline": src.startswith("__", i),
            "strikethrough": src[i] == "~",
            "spoiler": src.startswith("||", i),
            "code": src[i] == "`",
            "pre": src.startswith("```", i),
            "text_link": src[i] == "]",
            "custom_emoji": src[i] == "]",
        }[kind]

    def _open(self, i: int) -> int:
        src, ch = self.src, self.src[i]
        begin = i
        language = ""
        if ch == "_":
            if src.startswith("__", i):
                kind, i = "underline", i + 2
            else:
                kind, i = "italic", i + 1
        elif ch == "*":
            kind, i = "bold", i + 1
        elif ch == "~":
            kind, i = "strikethrough", i + 1
        elif ch == "|":
            if not src.startswith("||", i):
                raise self._reserved(ch)
            kind, i = "spoiler", i + 2
        elif ch == "[":
            kind, i = "text_link", i + 1
        elif ch == "`":
            if src.startswith("```", i):
                kind, i = "pre", i + 3
                eol = src.find("\n", i)
                fence_end = src.find("```", i)
                if eol >= 0 and (fence_end < 0 or eol < fence_end):
                    language = src[i:eol].strip()
                    i = eol + 1
            else:
                kind, i = "code", i + 1
        elif ch == "!" and src.startswith("![", i):
            kind, i = "custom_emoji", i + 2
        else:
            raise self._reserved(ch)
        for open_entity in self.stack:
            if open_entity.type == kind:
                raise EntityParseError(
                    f"Can't find end of {_MDV2_TYPE_NAMES[kind]} entity at byte offset "
                    f"{open_entity.byte_offset}"
                )
        self.stack.append(
            _MdOpen(kind, self.out.pos16, self._byte_offset(begin), len(self.out.parts), language)
        )
        return i

    def _close(self, i: int) -> int:
        src = self.src
        top = self.stack.pop()
        entity: dict[str, Any] = {"type": top.type, "offset": top.start16}
        if top.type in ("underline", "spoiler"):
            i += 2
        elif top.type == "pre":
            i += 3
            if top.language:
                entity["language"] = top.language
        elif top.type in ("text_link", "custom_emoji"):
            i += 1
            if i < len(src) and src[i] == "(":
                i += 1
                url_begin = i
                url: list[str] = []
                while i < len(src) and src[i] != ")":
                    if src[i] == "\\" and i + 1 < len(src) and 0 < ord(src[i + 1]) <= 126:
                        url.append(src[i + 1])
                        i += 2
                        continue
                    url.append(src[i])
                    i += 1
                if i >= len(src):
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {self._byte_offset(url_begin)}"
                    )
                i += 1
                target = "".join(url)
            else:
                if top.type == "custom_emoji":
                    raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
                target = "".join(self.out.parts[top.text_index :])
            if top.type == "custom_emoji":
                match = re.fullmatch(r"tg://emoji\?id=(\d+)", target)
                if match is None:
                    raise EntityParseError("Custom emoji URL must have an emoji identifier")
                entity["custom_emoji_id"] = match.group(1)
            else:
                user = re.fullmatch(r"tg://user\?id=(\d+)", target)
                if user:
                    entity["type"] = "text_mention"
                    entity["user"] = {"id": int(user.group(1)), "is_bot": False, "first_name": ""}
                else:
                    entity["url"] = target
        else:
            i += 1
        length = self.out.pos16 - top.start16
        if length > 0:
            entity["length"] = length
            self.entities.append(entity)
        return i


# ---------------------------------------------------------------------------------------------
# Legacy Markdown (lenient)
# ---------------------------------------------------------------------------------------------

_LEGACY = re.compile(
    r"```(?:(?P<lang>[^\n`]*)\n)?(?P<pre>.*?)```"
    r"|`(?P<code>[^`]*)`"
    r"|\*(?P<bold>[^*]*)\*"
    r"|_(?P<italic>[^_]*)_"
    r"|\[(?P<label>[^\]]*)\]\((?P<url>[^)]*)\)",
    re.DOTALL,
)


def _parse_legacy_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    out = _Builder()
    entities: list[dict[str, Any]] = []
    pos = 0
    for match in _LEGACY.finditer(text):
        out.add(text[pos : match.start()])
        pos = match.end()
        groups = match.groupdict()
        start = out.pos16
        entity: dict[str, Any]
        if groups["pre"] is not None:
            out.add(groups["pre"])
            entity = {"type": "pre"}
            if groups["lang"]:
                entity["language"] = groups["lang"].strip()
        elif groups["code"] is not None:
            out.add(groups["code"])
            entity = {"type": "code"}
        elif groups["bold"] is not None:
            out.add(groups["bold"])
            entity = {"type": "bold"}
        elif groups["italic"] is not None:
            out.add(groups["italic"])
            entity = {"type": "italic"}
        else:
            out.add(groups["label"])
            entity = {"type": "text_link", "url": groups["url"]}
        if out.pos16 > start:
            entities.append({**entity, "offset": start, "length": out.pos16 - start})
    rest = text[pos:]
    for marker in ("*", "_", "`", "["):
        if marker in rest:
            byte = len(text[: pos + rest.index(marker)].encode("utf-8"))
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {byte}")
    out.add(rest)
    return out.text(), entities


# ---------------------------------------------------------------------------------------------
# Entities Telegram adds to messages typed by users
# ---------------------------------------------------------------------------------------------

_USER_ENTITY = re.compile(
    r"(?P<bot_command>(?<![\w/\\])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/]))"
    r"|(?P<url>\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]'])"
    r"|(?P<email>\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b)"
    r"|(?P<mention>(?<![\w@])@[A-Za-z0-9_]{5,32}\b)"
    r"|(?P<hashtag>(?<![\w#])#\w*[^\W\d]\w*)"
)


def detect_user_entities(text: str) -> list[dict[str, Any]]:
    """Entities a Telegram client attaches to a plain text a user typed.

    ``/start abc`` gets a ``bot_command`` entity over ``/start`` only, ``/help@my_bot`` over the
    whole ``/help@my_bot`` — exactly what PTB's ``CommandHandler`` inspects.
    """
    entities = []
    for match in _USER_ENTITY.finditer(text):
        kind = match.lastgroup
        assert kind is not None
        entities.append(
            {
                "type": kind,
                "offset": utf16_len(text[: match.start()]),
                "length": utf16_len(match.group(0)),
            }
        )
    return entities
