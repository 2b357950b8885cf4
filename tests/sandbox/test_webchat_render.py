"""The browser chat's renderer: Telegram text + entities to HTML, everything else escaped."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.textparse import parse_text
from sandbox.webchat_render import entities_to_html, message_item, safe_href


@pytest.mark.parametrize(
    ("markup", "html"),
    [
        ("<b>Halo</b> Ani", "<b>Halo</b> Ani"),
        ("a &lt;script&gt; &amp; b", "a &lt;script&gt; &amp; b"),
        ("<b>bold <i>both</i></b>", "<b>bold <i>both</i></b>"),
        ("<code>x&lt;1</code>", "<code>x&lt;1</code>"),
        ("<pre>line 1\nline 2</pre>", "<pre>line 1\nline 2</pre>"),
        ("<s>old</s> <u>new</u>", "<s>old</s> <u>new</u>"),
        ("<tg-spoiler>rahasia</tg-spoiler>", '<span class="spoiler">rahasia</span>'),
        ("<blockquote>kutipan</blockquote>", "<blockquote>kutipan</blockquote>"),
        (
            '<a href="https://maps.google.com/?q=-5.1,119.4">Peta</a>',
            '<a href="https://maps.google.com/?q=-5.1,119.4" target="_blank" '
            'rel="noopener noreferrer">Peta</a>',
        ),
        # A link a browser must not follow is shown as its text only.
        ('<a href="javascript:alert(1)">klik</a>', "klik"),
        ('<a href="data:text/html,x">klik</a>', "klik"),
        # Offsets are UTF-16: an emoji before the bold counts two.
        ("👩‍⚕️ <b>Siti</b> ✓", "👩‍⚕️ <b>Siti</b> ✓"),
        ("🏠<b>🏥 rumah</b>🏠", "🏠<b>🏥 rumah</b>🏠"),
        ("\"quotes\" 'stay'", "\"quotes\" 'stay'"),
    ],
)
def test_bot_markup_renders_as_telegram_shows_it(markup: str, html: str) -> None:
    parsed = parse_text(markup, "HTML")
    assert entities_to_html(parsed.text, parsed.entities) == html


def test_overlapping_entities_stay_well_nested() -> None:
    # bold 0..4, italic 2..6 over "abcdef": italic is closed and reopened around </b>.
    entities = [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 2, "length": 4},
    ]
    assert entities_to_html("abcdef", entities) == "<b>ab<i>cd</i></b><i>ef</i>"


@pytest.mark.parametrize(
    "entity",
    [
        {"type": "bold", "offset": 10, "length": 3},  # beyond the text
        {"type": "bold", "offset": 0, "length": 0},
        {"type": "bold"},
        {"type": "no_such_type", "offset": 0, "length": 2},
    ],
)
def test_odd_entities_never_break_the_text(entity: dict[str, Any]) -> None:
    assert entities_to_html("a<b", [entity]).replace("<b>", "").replace("</b>", "") == "a&lt;b"


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://t.me/x", "https://t.me/x"),
        (" http://127.0.0.1:8090/masuk?t=abc ", "http://127.0.0.1:8090/masuk?t=abc"),
        ("tg://user?id=1", "tg://user?id=1"),
        ("mailto:a@b.id", "mailto:a@b.id"),
        ("JavaScript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("//evil.example", None),
        ("vbscript:x", None),
    ],
)
def test_safe_href(url: str, safe: str | None) -> None:
    assert safe_href(url) == safe


def _view(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "message_id": 7,
        "from_bot": True,
        "kind": "text",
        "plain_text": "",
        "entities": [],
        "date": 0,
        "file": None,
        "inline_keyboard": [],
    }
    return {**base, **fields}


def test_a_users_text_is_escaped_and_never_formatted() -> None:
    text = '<img src=x onerror="alert(1)"> <b>tebal</b> & https://x.id'
    user = message_item(_view(from_bot=False, plain_text=text, entities=[]))
    assert user["html"] == (
        '&lt;img src=x onerror="alert(1)"&gt; &lt;b&gt;tebal&lt;/b&gt; &amp; https://x.id'
    )


def test_bare_addresses_in_a_bot_message_become_links() -> None:
    text = "Buka http://127.0.0.1:8090/masuk?t=a_b dalam 10 menit"
    item = message_item(_view(plain_text=text))
    assert '<a href="http://127.0.0.1:8090/masuk?t=a_b"' in item["html"]
    assert item["html"].endswith("</a> dalam 10 menit")


def test_buttons_files_and_flags() -> None:
    view = _view(
        kind="document",
        file={
            "file_id": "BQ1",
            "file_name": "laporan.pdf",
            "file_size": 2048,
            "mime_type": "application/pdf",
            "kind": "document",
        },
        inline_keyboard=[
            [
                {"text": "Ya", "callback_data": "y", "url": None},
                {"text": "Buka", "callback_data": None, "url": "javascript:x"},
            ]
        ],
        edited=True,
    )
    item = message_item(view)
    assert item["file"] == {
        "url": "/chat/files/BQ1",
        "name": "laporan.pdf",
        "size": 2048,
        "mime_type": "application/pdf",
        "image": False,
    }
    assert item["buttons"] == [
        [{"text": "Ya", "data": "y", "url": None}, {"text": "Buka", "data": None, "url": None}]
    ]
    assert item["edited"] and not item["deleted"]
