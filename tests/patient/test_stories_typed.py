"""/start and typed words (issue 10 item 10): typed "tidak", "batal", "no", "cancel" press the
button they name (words naming no button, or two, are asked again); /start mid-way says where the
person is; a registered family's /start offers a visit.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import HomecareApp
from bot.handlers.typed_buttons import typed_press
from bot.i18n import t
from bot.messages import Button
from db.models import Conversation, Visit
from tests.patient.helpers import last, register_self, user
from tests.patient.story_helpers import account_of, no_failures, rows

DANGER = (
    Button("🚨 Ya, ada salah satu", data="pc:AAAAAA:y"),
    Button("Tidak ada", data="pc:AAAAAA:n"),
    Button("✖ Batal", data="pc:AAAAAA:q"),
)
KELURAHAN = (
    Button("Kassi-Kassi", data="pc:AAAAAA:k:0"),
    Button("Karunrung", data="pc:AAAAAA:k:1"),
    Button("Kelurahan lain", data="pc:AAAAAA:k:9"),
    Button("Peta", url="https://maps.example"),
)


@pytest.mark.parametrize(
    ("typed", "buttons", "pressed"),
    [
        ("tidak", DANGER, "n"),
        ("Tidak ada", DANGER, "n"),
        ("tdk", DANGER, "n"),
        ("ya", DANGER, "y"),
        ("BATAL", DANGER, "q"),
        ("mungkin", DANGER, None),
        ("", DANGER, None),
        ("kassi kassi", KELURAHAN, "k:0"),
        ("karunrung.", KELURAHAN, "k:1"),
        ("kelurahan", KELURAHAN, None),  # names no button exactly
        ("peta", KELURAHAN, None),  # a link is not a press
    ],
)
def test_typed_press(typed: str, buttons: tuple[Button, ...], pressed: str | None) -> None:
    button = typed_press(typed, buttons)
    assert (button.data.split(":", 2)[2] if button and button.data else None) == pressed


WORDS = {
    "id": {"service": "Perawatan luka", "no": "tidak", "cancel": "batal"},
    "en": {"service": "Wound care", "no": "no", "cancel": "cancel"},
}


@pytest.mark.parametrize("language", ["id", "en"])
async def test_typed_no_and_cancel_are_understood(
    app: HomecareApp, client: Any, language: str
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    if language == "en":
        await nai.send("/bahasa")
        await last(nai)
        await nai.press("English")
        await last(nai)
    words = WORDS[language]
    await nai.send("/minta_kunjungan")
    await last(nai)
    await nai.press(words["service"])
    await last(nai)  # the safety question
    await nai.send(words["no"])
    complaint = await last(nai)
    assert complaint.plain_text == t(language, "patient.book.complaint", max="500").split("\n")[0]
    await nai.send(words["cancel"])
    done = await last(nai)
    assert done.plain_text == t(language, "patient.quit_done")
    account = await account_of(app, nai.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    assert await rows(app, Visit) == []
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_start_mid_way_says_where_you_are_and_how_to_go_on_or_stop(
    app: HomecareApp, client: Any, language: str
) -> None:
    nai = await user(client, "nai", language)
    await nai.send("/start")
    await last(nai)
    await nai.press(t(language, "patient.consent.agree_family"))
    who = await last(nai)
    await nai.send("/start")
    again = await last(nai)
    doing = t(language, "patient.doing.p.reg")
    assert again.plain_text.startswith(t(language, "patient.where", doing=doing))
    assert "/batal" in again.plain_text
    assert again.plain_text.endswith(who.plain_text)
    assert again.button_texts == who.button_texts  # the same question, still answerable
    await nai.press(t(language, "patient.kin_button.mother"), message_id=again.message_id)
    behalf = await last(nai)
    assert t(language, "patient.kin.mother") in behalf.plain_text
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_start_when_registered_offers_a_visit(
    app: HomecareApp, client: Any, language: str
) -> None:
    nai = await user(client, "nai", language)
    await register_self(nai)
    await nai.send("/batal")  # registering went on to a visit request: leave it
    await last(nai)
    await nai.send("/start")
    welcome = await last(nai)
    assert t(language, "patient.welcome_back") in welcome.plain_text
    assert "Persetujuan" not in welcome.plain_text and "Consent" not in welcome.plain_text
    assert welcome.button_texts == [t(language, "patient.reg.book_now")]
    await nai.press(t(language, "patient.reg.book_now"))
    services = await last(nai)
    assert services.plain_text == t(
        language, "patient.book.choose_service", who=t(language, "patient.you")
    )
    await no_failures(app)
