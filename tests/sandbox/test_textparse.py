"""Parse modes and entities, checked against the Bot API's formatting rules."""

from __future__ import annotations

import pytest

from sandbox.textparse import EntityParseError, detect_user_entities, parse_text, utf16_len


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("🏥") == 2
    assert utf16_len("é") == 1


def test_html_tags_become_entities_and_entities_are_decoded() -> None:
    parsed = parse_text("<b>Jadwal</b> &amp; <i>rute</i> &lt;3 &#128137;", "HTML")
    assert parsed.text == "Jadwal & rute <3 💉"
    assert parsed.entities == (
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "italic", "offset": 9, "length": 4},
    )


def test_html_offsets_are_utf16_after_emoji() -> None:
    parsed = parse_text("🏥 <b>Puskesmas</b>", "html")
    assert parsed.entities == ({"type": "bold", "offset": 3, "length": 9},)


def test_html_links_nesting_pre_language_spoiler_and_quote() -> None:
    text = (
        '<a href="https://example.org/?a=1&amp;b=2">peta</a> <b>x<i>y</i></b> '
        '<pre><code class="language-python">print(1)</code></pre> '
        '<span class="tg-spoiler">s</span><tg-spoiler>t</tg-spoiler> '
        "<blockquote expandable>q</blockquote> "
        '<a href="tg://user?id=42">Ani</a>'
    )
    parsed = parse_text(text, "HTML")
    assert parsed.text == "peta xy print(1) st q Ani"
    by_type = {e["type"]: e for e in parsed.entities}
    assert by_type["text_link"]["url"] == "https://example.org/?a=1&b=2"
    assert by_type["pre"] == {"type": "pre", "offset": 8, "length": 8, "language": "python"}
    assert by_type["expandable_blockquote"]["length"] == 1
    assert by_type["text_mention"]["user"]["id"] == 42
    assert [e["type"] for e in parsed.entities if e["type"] == "spoiler"] == ["spoiler"] * 2
    bold = next(e for e in parsed.entities if e["type"] == "bold")
    italic = next(e for e in parsed.entities if e["type"] == "italic")
    assert (bold["offset"], bold["length"], italic["offset"], italic["length"]) == (5, 2, 6, 1)


def test_html_keeps_unknown_ampersand_literally() -> None:
    assert parse_text("A&B &nbsp; x", "HTML").text == "A&B &nbsp; x"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<br/>x", 'Unsupported start tag "br/" at byte offset 0'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ('<span class="x">s</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("é <x>", 'Unsupported start tag "x" at byte offset 3'),
    ],
)
def test_html_errors_use_telegrams_descriptions(text: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_text(text, "HTML")
    assert str(caught.value) == error


def test_markdown_v2_entities_and_escapes() -> None:
    parsed = parse_text(
        r"*tebal* _miring_ __garis__ ~coret~ ||rahasia|| `kode` [peta](https://x\.org) 1\.5",
        "MarkdownV2",
    )
    assert parsed.text == "tebal miring garis coret rahasia kode peta 1.5"
    types = [(e["type"], e["offset"], e["length"]) for e in parsed.entities]
    assert types == [
        ("bold", 0, 5),
        ("italic", 6, 6),
        ("underline", 13, 5),
        ("strikethrough", 19, 5),
        ("spoiler", 25, 7),
        ("code", 33, 4),
        ("text_link", 38, 4),
    ]
    assert parsed.entities[-1]["url"] == "https://x.org"


def test_markdown_v2_pre_with_language_and_blockquote() -> None:
    parsed = parse_text("```python\nprint(1)\n```\n>kutipan\n>dua\nakhir", "MarkdownV2")
    assert parsed.text == "print(1)\n\nkutipan\ndua\nakhir"
    pre, quote = parsed.entities
    assert pre == {"type": "pre", "offset": 0, "length": 9, "language": "python"}
    assert quote == {"type": "blockquote", "offset": 10, "length": 11}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("Harga 1.5", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("*tebal", "Can't find end of Bold entity at byte offset 0"),
        ("x _y", "Can't find end of Italic entity at byte offset 2"),
        ("[a](http://x", "Can't find end of a URL at byte offset 4"),
    ],
)
def test_markdown_v2_errors(text: str, error: str) -> None:
    with pytest.raises(EntityParseError) as caught:
        parse_text(text, "MarkdownV2")
    assert str(caught.value) == error


def test_legacy_markdown_is_lenient_but_needs_closed_entities() -> None:
    parsed = parse_text("*b* _i_ `c` [t](http://u) 1.5-2", "Markdown")
    assert parsed.text == "b i c t 1.5-2"
    assert [e["type"] for e in parsed.entities] == ["bold", "italic", "code", "text_link"]
    with pytest.raises(EntityParseError):
        parse_text("*open", "Markdown")


def test_unknown_parse_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        parse_text("x", "BBCode")


def test_whitespace_is_stripped_and_entities_clipped() -> None:
    parsed = parse_text("\n  <b> Halo</b>  \n", "HTML")
    assert parsed.text == "Halo"
    assert parsed.entities == ({"type": "bold", "offset": 0, "length": 4},)
    assert parse_text("<b> </b>", "HTML").text == ""


def test_plain_text_keeps_explicit_entities() -> None:
    parsed = parse_text("halo", None, [{"type": "bold", "offset": 0, "length": 4}])
    assert parsed.entities == ({"type": "bold", "offset": 0, "length": 4},)


def test_user_text_entities_like_telegram_clients() -> None:
    assert detect_user_entities("/start visit_42") == [
        {"type": "bot_command", "offset": 0, "length": 6}
    ]
    assert detect_user_entities("/help@homecare_bot") == [
        {"type": "bot_command", "offset": 0, "length": 18}
    ]
    found = detect_user_entities("🙂 lihat /jadwal di https://x.org/a, @perawat_ani #kunjungan")
    assert [(e["type"], e["offset"], e["length"]) for e in found] == [
        ("bot_command", 9, 7),
        ("url", 20, 15),
        ("mention", 37, 12),
        ("hashtag", 50, 10),
    ]
    assert detect_user_entities("a/b and http://") == []
