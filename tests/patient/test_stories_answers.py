"""Answers stay visible (issue 10 item 7): a pressed question loses its buttons and shows the
chosen answer under it, so the chat reads as a history; a forged press writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.handlers.patient_flow import answered_text
from bot.i18n import t
from tests.patient.helpers import last, user


@pytest.mark.parametrize(
    ("question", "label", "expected"),
    [
        ("Untuk siapa?", "👤 Untuk saya sendiri", "Untuk siapa?\n\n✓ Untuk saya sendiri"),
        ("Q", "✅ Setuju", "Q\n\n✓ Setuju"),
        ("Q", "08:00–10:00", "Q\n\n✓ 08:00–10:00"),
        ("Q", "Anak <3", "Q\n\n✓ Anak &lt;3"),
        ("Q", "✅", None),  # nothing but an icon: only the keyboard goes
        (None, "✅ Setuju", None),  # a photo or an inaccessible message
        ("x" * 4090, "Setuju", None),  # would pass Telegram's cap
    ],
)
def test_answered_text(question: str | None, label: str, expected: str | None) -> None:
    assert answered_text(question, label) == expected


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_pressed_question_shows_the_chosen_answer(
    app: Any, client: Any, language: str
) -> None:
    rina = await user(client, "rina", language)
    await rina.send("/start")
    consent = await last(rina)
    await rina.press(t(language, "patient.consent.agree_family"))
    label = await last(rina)
    await rina.press(t(language, "patient.kin_button.mother"))
    await last(rina)  # the consent on her mother's behalf

    consent_now = await rina.refresh(consent)
    label_now = await rina.refresh(label)
    agree_words = t(language, "patient.consent.agree_family").split(" ", 1)[1]
    mother = t(language, "patient.kin_button.mother")
    assert consent_now.plain_text == f"{consent.plain_text}\n\n✓ {agree_words}"
    assert label_now.plain_text == f"{label.plain_text}\n\n✓ {mother}"
    assert consent_now.buttons == [] and label_now.buttons == []


async def test_a_forged_press_writes_no_answer(app: Any, client: Any) -> None:
    nai = await user(client, "nai")
    await nai.send("/start")
    consent = await last(nai)
    await nai.press_forged("pc:AAAAAA:ok", message_id=consent.message_id)
    await nai.expect_no_message()
    assert (await nai.refresh(consent)).plain_text == consent.plain_text
