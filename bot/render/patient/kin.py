"""How a caregiver's patient is named in the bot's voice: "Ibu saya" is stored as "Ibu" and said
back as "Ibu Anda" / "your mother" — never "Ibu saya", which reads as the bot's own mother.

Pure: the stored word in, words out. A word not in the table (e.g. "Om Daeng") is kept as typed,
without the possessive, and said as it is.
"""

from __future__ import annotations

import re

from bot.i18n import Translator

# kin key → (the stored Indonesian word, the words families type for it in id and en).
KIN: dict[str, tuple[str, tuple[str, ...]]] = {
    "mother": ("Ibu", ("ibu", "mama", "mamak", "emak", "mak", "bunda", "umi", "mother", "mom")),
    "father": ("Bapak", ("bapak", "bapa", "ayah", "papa", "abah", "bapak", "father", "dad")),
    "grandmother": ("Nenek", ("nenek", "oma", "grandmother", "grandma", "granny")),
    "grandfather": ("Kakek", ("kakek", "opa", "grandfather", "grandpa")),
    "child": ("Anak", ("anak", "child", "son", "daughter")),
    "husband": ("Suami", ("suami", "husband")),
    "wife": ("Istri", ("istri", "isteri", "wife")),
    "older_sibling": ("Kakak", ("kakak", "older brother", "older sister")),
    "younger_sibling": ("Adik", ("adik", "younger brother", "younger sister")),
    "sibling": ("Saudara", ("saudara", "brother", "sister", "sibling")),
    "parent_in_law": ("Mertua", ("mertua", "mother in law", "father in law", "parent in law")),
    "uncle": ("Paman", ("paman", "om", "uncle")),
    "aunt": ("Bibi", ("bibi", "tante", "aunt", "auntie")),
}
# Offered as buttons at the question, in this order (the rest are understood when typed).
OFFERED = ("mother", "father", "grandmother", "grandfather", "child", "husband", "wife", "sibling")

_BY_WORD = {w: key for key, (_, words) in KIN.items() for w in words}
_POSSESSIVE = re.compile(r"^(?:my\s+)|(?:\s+(?:saya|aku|kami))$|(?<=\w\w\w)ku$", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def _plain(text: str) -> str:
    text = _SPACES.sub(" ", text.strip())
    previous = None
    while previous != text:
        previous, text = text, _POSSESSIVE.sub("", text).strip()
    return text


def kin_of(label: str | None) -> str | None:
    """The kin key of a stored or typed word ("Ibu saya", "ibuku", "my mom" → "mother")."""
    if not label:
        return None
    word = _plain(label).casefold().replace("-", " ")
    return _BY_WORD.get(word)


def normalise(typed: str) -> str:
    """What to store: the family's word without "saya"/"my", a known kin as its one word."""
    kin = kin_of(typed)
    return KIN[kin][0] if kin else _plain(typed)


def stored_word(kin: str) -> str:
    return KIN[kin][0]


def said(tr: Translator, label: str) -> str:
    """The patient in the bot's voice: "Ibu Anda" / "your mother"; other words as they are."""
    kin = kin_of(label)
    return tr(f"patient.kin.{kin}") if kin else _plain(label)


def button_text(tr: Translator, kin: str) -> str:
    return tr(f"patient.kin_button.{kin}")
