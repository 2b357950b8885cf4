"""Every key the core hands to the bot exists in both catalogues (a missing key is a crash)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import scheduler.identity
from bot.i18n import LANGUAGES, catalogue
from scheduler.booking import BookingRefusal
from scheduler.visits import TransitionError, VisitStatus, status_key

IDENTITY_SOURCE = Path(scheduler.identity.__file__).read_text(encoding="utf-8")
IDENTITY_CODES = sorted(set(re.findall(r'InvalidInput\("([a-z_.]+)"', IDENTITY_SOURCE)))
TRANSITION_CODES = [
    "unknown_status",
    "unknown_actor",
    "same_status",
    "final",
    "not_allowed",
    "not_your_step",
]


def core_keys() -> list[str]:
    keys = [f"invalid.{code}" for code in IDENTITY_CODES]
    keys += [r.locale_key for r in BookingRefusal]
    keys += [status_key(s) for s in VisitStatus]
    keys += [TransitionError(code, "a", "b", "c").key for code in TRANSITION_CODES]
    return keys


def test_identity_codes_were_found() -> None:
    assert "phone.too_short" in IDENTITY_CODES and len(IDENTITY_CODES) >= 30


@pytest.mark.parametrize("language", LANGUAGES)
def test_core_locale_keys_exist(language: str) -> None:
    missing = [key for key in core_keys() if key not in catalogue(language)]
    assert missing == []
