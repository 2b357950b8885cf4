"""Words that keep their promise (issue 10 items 2–4): "Tutup" closes and changes nothing, a
refusal says exactly what is kept, and a deleted person is answered rather than ignored.

Time stands at Monday 9 Nov 2026, 09:00 WITA (tests.patient.helpers.NOW).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Conversation, Patient, Visit
from tests.patient.helpers import answer_of, book, count, last, register_self, user
from tests.patient.story_helpers import account_of, no_failures, rows

CLOSE = {"id": "✖ Tutup", "en": "✖ Close"}


async def _english(u: Any) -> None:
    await u.send("/bahasa")
    await last(u)
    await u.press("English")
    await last(u)


async def _delete_my_data(u: Any, language: str = "id") -> None:
    """/data_saya → delete → yes, through the buttons of the person's language."""
    await u.send("/data_saya")
    await last(u)
    await u.press(t(language, "patient.data.delete_btn"))
    await last(u)
    await u.press(t(language, "patient.data.delete_yes"))
    await last(u)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_closing_the_visit_list_says_nothing_changed_and_changes_nothing(
    app: HomecareApp, client: Any, language: str
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)
    if language == "en":
        await _english(nai)
    await nai.send("/kunjungan_saya")  # commands are the same in both languages
    listing = await last(nai)
    assert listing.button_texts[-1] == CLOSE[language]
    assert "Batal" not in listing.button_texts[-1] and "Cancel" not in listing.button_texts[-1]
    await nai.press(CLOSE[language])
    closed = await last(nai)
    assert closed.plain_text == t(language, "patient.visits.list_closed")
    assert "dibatalkan" not in closed.plain_text and "cancelled" not in closed.plain_text
    [visit] = await rows(app, Visit)
    assert visit.status == "requested"
    account = await account_of(app, nai.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    await no_failures(app)


async def test_leaving_a_cancellation_half_way_keeps_the_visit(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)
    await nai.send("/kunjungan_saya")
    listing = await last(nai)
    await nai.press(listing.buttons[1].text)  # ✖ Batalkan <code>
    ask = await last(nai)
    assert ask.button_texts[-1] == "Jangan batalkan"
    await nai.press("Jangan batalkan")
    kept = await last(nai)
    assert kept.plain_text == t("id", "patient.visits.kept")
    [visit] = await rows(app, Visit)
    assert visit.status == "requested"
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_closing_the_data_menu_says_nothing_changed(
    app: HomecareApp, client: Any, language: str
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    if language == "en":
        await _english(nai)
    await nai.send("/data_saya")
    menu = await last(nai)
    assert menu.button_texts[-1] == CLOSE[language]
    await nai.press(CLOSE[language])
    closed = await last(nai)
    assert closed.plain_text == t(language, "patient.closed")
    [patient] = await rows(app, Patient)
    assert patient.full_name == "Daeng Nai" and patient.deleted_at is None
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_after_deletion_commands_are_answered_politely(
    app: HomecareApp, client: Any, language: str
) -> None:
    nai = await user(client, "nai", language=language)
    await register_self(nai)
    if language == "en":
        await _english(nai)
    await _delete_my_data(nai, language)
    visits_before = await count(app, Visit)
    for command in ("/kunjungan_saya", "/data_saya", "/minta_kunjungan"):
        await nai.send(command)
        answer = await last(nai)
        assert answer.plain_text == t(language, "common.after_deletion"), command
        assert "/start" in answer.plain_text
    assert await count(app, Visit) == visits_before
    [patient] = await rows(app, Patient)
    assert patient.full_name is None
    await no_failures(app)


async def test_consent_refusal_in_english_names_what_is_kept(app: HomecareApp, client: Any) -> None:
    ann = await user(client, "ann", language="en")
    await ann.send("/start")
    consent = await last(ann)
    await ann.press(consent.button_texts[-1])  # I do not agree
    refused = await last(ann)
    assert "Only your Telegram account number" in refused.plain_text
    account = await account_of(app, ann.id)
    assert account.telegram_user_id == ann.id
    assert await count(app, Patient) == 0
    await no_failures(app)


async def test_a_stale_close_press_after_deletion_is_answered(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/data_saya")
    menu = await last(nai)
    await _delete_my_data(nai)
    press = await nai.press_forged(menu.buttons[-1].callback_data or "", message_id=menu.message_id)
    assert await answer_of(nai, press) == t("id", "common.after_deletion")
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_help_and_the_menu_name_batal(app: HomecareApp, client: Any, language: str) -> None:
    ani = await user(client, "ani", language=language)
    await ani.send("/help")
    help_text = (await last(ani)).plain_text
    assert f"/batal — {t(language, 'commands.batal')}" in help_text
    assert ("batal", t(language, "commands.batal")) in await ani.commands()
