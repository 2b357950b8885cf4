"""Typed answers where a button is expected: "tidak", "batal", "kassi kassi" are understood.

On a cheap phone people often type what the button says. A typed text that names exactly one of
the current step's buttons counts as pressing it; anything else is left to the step (which asks
again). Matching ignores case, icons, punctuation and spaces, and knows the usual short forms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.messages import Button

_NOT_WORD = re.compile(r"[^\w]+")

# Short forms people type for the first word of a button ("tdk" for "Tidak ada").
_SYNONYMS = {
    "tidak": ("tidak", "tdk", "ga", "gak", "nggak", "enggak", "no", "tidakada", "nope"),
    "none": ("none", "no", "nothing"),
    "no": ("no", "tidak", "nope"),
    "ya": ("ya", "iya", "yes", "y", "ok", "oke"),
    "yes": ("yes", "y", "ya", "ok"),
    "batal": ("batal", "cancel", "stop", "berhenti"),
    "cancel": ("cancel", "batal", "stop"),
    "tutup": ("tutup", "close", "selesai"),
    "close": ("close", "tutup"),
}


def squash(text: str) -> str:
    """ "✅ Kassi-Kassi " → "kassikassi"."""
    return _NOT_WORD.sub("", text.casefold()).replace("_", "")


def _first_word(label: str) -> str:
    words = [w for w in _NOT_WORD.split(label.casefold()) if w]
    return words[0] if words else ""


def typed_press(text: str, buttons: Iterable[Button]) -> Button | None:
    """The one callback button `text` names, or None (no match, or more than one)."""
    typed = squash(text)
    if not typed:
        return None
    candidates = [b for b in buttons if b.data is not None]
    exact = [b for b in candidates if squash(b.text) == typed]
    if len(exact) == 1:
        return exact[0]
    by_word = [b for b in candidates if typed in _SYNONYMS.get(_first_word(b.text), ())]
    return by_word[0] if len(by_word) == 1 else None
