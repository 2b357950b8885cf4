"""Locale catalogues: every user-facing string, in Bahasa Indonesia (default) and English.

Catalogues live in `bot/locales/<lang>/<area>.toml`, one file per area so features don't collide;
a key is `<area>.<key>` (nested tables join with dots). Placeholders use `str.format` names:
`{name}`. Values are HTML (Telegram parse mode); anything a person typed must be passed through
`html.escape` by the renderer before it is placed in a string.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")


def _flatten(prefix: str, table: Mapping[str, Any], out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(full, value, out)
        elif isinstance(value, str):
            out[full] = value
        else:
            raise ValueError(f"{full}: catalogue values must be text")


@cache
def catalogue(language: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / language).glob("*.toml")):
        _flatten(path.stem, tomllib.loads(path.read_text(encoding="utf-8")), out)
    return out


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def normalise_language(code: str | None) -> str:
    """Telegram's language_code (e.g. "en-GB") → one of ours; Bahasa Indonesia by default."""
    if code and code.lower().split("-")[0] == "en":
        return "en"
    return DEFAULT_LANGUAGE


def t(language: str, key: str, /, **params: Any) -> str:
    """The text for `key` in `language`, formatted. A missing key is a bug: it raises KeyError."""
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    text = catalogue(lang)[key]
    return text.format(**params) if params else text


class Translator:
    """`t` bound to one person's language, handed to renderers."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, /, **params: Any) -> str:
        return t(self.language, key, **params)
