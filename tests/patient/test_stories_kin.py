"""The patient in the bot's voice (issue 10 item 6): a caregiver's "Ibu saya" is stored as "Ibu"
and said back as "Ibu Anda" / "your mother"; a person booking for themself is asked about "Anda"
only in ways that make sense.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import HomecareApp
from bot.i18n import Translator, t
from bot.render.patient.kin import kin_of, normalise, said
from db.models import PatientLink
from tests.patient.helpers import fill_profile, last, user
from tests.patient.story_helpers import account_of, no_failures, rows


@pytest.mark.parametrize(
    ("typed", "kin", "stored"),
    [
        ("Ibu saya", "mother", "Ibu"),
        ("ibuku", "mother", "Ibu"),
        ("Mama saya", "mother", "Ibu"),
        ("my mom", "mother", "Ibu"),
        ("Bapak", "father", "Bapak"),
        ("nenek saya", "grandmother", "Nenek"),
        ("Om Daeng", None, "Om Daeng"),
        ("Nenek Ani", None, "Nenek Ani"),
        ("kuku", None, "kuku"),  # "ku" is a possessive only after a word
    ],
)
def test_kin_words(typed: str, kin: str | None, stored: str) -> None:
    assert (kin_of(typed), normalise(typed)) == (kin, stored)


@pytest.mark.parametrize(
    ("language", "label", "expected"),
    [
        ("id", "Ibu", "Ibu Anda"),
        ("en", "Ibu", "your mother"),
        ("id", "Ibu saya", "Ibu Anda"),  # rows stored before this change
        ("id", "Om Daeng", "Om Daeng"),
        ("en", "Om Daeng", "Om Daeng"),
    ],
)
def test_said_in_the_bots_voice(language: str, label: str, expected: str) -> None:
    assert said(Translator(language), label) == expected


@pytest.mark.parametrize(
    ("language", "mother", "service", "question"),
    [
        ("id", "Ibu Anda", "Perawatan luka", "Layanan perawat apa yang dibutuhkan untuk Ibu Anda?"),
        ("en", "your mother", "Wound care", "Which nursing service is needed for your mother?"),
    ],
)
async def test_a_caregiver_hears_her_mother_as_ibu_anda(
    app: HomecareApp, client: Any, language: str, mother: str, service: str, question: str
) -> None:
    rina = await user(client, "rina", language)
    await rina.send("/minta_kunjungan")
    await last(rina)
    await rina.press(t(language, "patient.consent.agree_family"))
    label_question = await last(rina)
    assert t(language, "patient.kin_button.mother") in label_question.button_texts
    await rina.press(t(language, "patient.kin_button.mother"))
    behalf = await last(rina)
    assert mother in behalf.plain_text
    assert "saya" not in behalf.plain_text.split("\n")[0]
    await rina.press(t(language, "patient.consent.agree"))
    name_question = await last(rina)
    assert mother in name_question.plain_text
    rina.cursor = name_question.message_id - 1
    await fill_profile(rina, name="Siti Aminah", nik=None, kelurahan="Mappala", location=False)
    saved, services = await rina.wait_messages(2)
    assert mother in saved.plain_text
    assert services.plain_text == question
    await rina.press(service)
    danger = await last(rina)
    assert mother in danger.plain_text
    # A caregiver is asked about every sign, being unconscious too.
    unconscious = app.config.danger_signs[2]
    assert unconscious.code == "unconscious"
    assert unconscious.question(language).rstrip("?") in danger.plain_text

    account = await account_of(app, rina.id)
    [link] = await rows(app, PatientLink, PatientLink.account_id == account.id)
    assert (link.relation, link.label) == ("caregiver", "Ibu")
    await no_failures(app)


async def test_a_typed_relation_is_stored_without_saya(app: HomecareApp, client: Any) -> None:
    rina = await user(client, "rina")
    await rina.send("/start")
    await last(rina)
    await rina.press("✅ Setuju — untuk keluarga saya")
    await last(rina)
    await rina.send("Nenek saya")
    behalf = await last(rina)
    assert "Anda akan mendaftarkan Nenek Anda." in behalf.plain_text
    await rina.send("/batal")
    await last(rina)
    await no_failures(app)
