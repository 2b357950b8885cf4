"""Story tests: a far location pin is asked about (issue 10 item 5); days with a visit already
are left out of the day picker, and a forged press of one changes nothing (item 8)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Conversation, Patient, Visit
from tests.patient.helpers import (
    answer_of,
    book,
    count,
    expect,
    fill_profile,
    last,
    no_danger_signs,
    user,
)
from tests.patient.story_helpers import account_of, no_failures, rows

JAKARTA = (-6.2088, 106.8456)


def services_first(app: HomecareApp, language: str) -> str:
    s = app.config.services[0]
    return s.name_id if language == "id" else s.name_en


async def _to_name_question(u: Any) -> None:
    await u.send("/start")
    consent = await last(u)
    await u.press(consent.buttons[0].text)  # agree, for myself


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_far_pin_is_asked_about_and_sent_again(
    app: HomecareApp, client: Any, language: str
) -> None:
    u = await user(client, "nai", language)
    await _to_name_question(u)
    await fill_profile(
        u, name="Daeng Nai", nik=None, kelurahan="Karunrung", location=True, pin=JAKARTA
    )
    ask = await last(u)
    assert t(language, "location.far_yes") in ask.button_texts
    assert t(language, "location.far_again") in ask.button_texts
    km = "1.399 km" if language == "id" else "1,399 km"
    assert km in ask.plain_text and "Puskesmas Kassi-Kassi" in ask.plain_text
    await u.press(t(language, "location.far_again"))
    again = await last(u)
    assert again.reply_buttons  # the location question with its keyboard
    assert "📎" in again.plain_text
    await u.press_reply(again.reply_buttons[0].text, latitude=-5.1601, longitude=119.4480)
    saved, _services = await expect(u, 2)  # saved at once, on to the visit request
    assert t(language, "location.far_yes") not in saved.button_texts
    [patient] = await rows(app, Patient)
    assert (patient.lat, patient.lon) == (-5.1601, 119.448)
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_far_pin_confirmed_is_kept(app: HomecareApp, client: Any, language: str) -> None:
    u = await user(client, "nai", language)
    await _to_name_question(u)
    await fill_profile(
        u, name="Daeng Nai", nik=None, kelurahan="Karunrung", location=True, pin=JAKARTA
    )
    ask = await last(u)
    await u.press(t(language, "location.far_yes"), message_id=ask.message_id)
    await expect(u, 2)  # saved at once, on to the visit request
    [patient] = await rows(app, Patient)
    assert (patient.lat, patient.lon) == JAKARTA
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_day_with_a_visit_is_left_out_and_a_forged_press_changes_nothing(
    app: HomecareApp, client: Any, language: str
) -> None:
    from tests.patient.helpers import register_self

    u = await user(client, "nai", language)
    await register_self(u)
    window = "08:00–10:00"
    await book(u, window=window, service=services_first(app, language))  # Tuesday 10 Nov
    await u.send("/minta_kunjungan")
    services = await last(u)
    await u.press(services.buttons[0].text)
    await no_danger_signs(u)
    await u.send("Kontrol tekanan darah")
    days = await last(u)
    assert not any("10 Nov" in b for b in days.button_texts)
    assert any("11 Nov" in b for b in days.button_texts)
    assert t(language, "sameday.hidden", days="X").split("X")[0] in days.plain_text
    nonce = (days.buttons[0].callback_data or "").split(":")[1]
    account = await account_of(app, u.id)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    press = await u.press_forged(f"pc:{nonce}:d:20261110")
    answer = await answer_of(u, press)
    assert answer.startswith(t(language, "sameday.refused", day="X").split("X")[0])
    [after] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (after.step, after.updated_at) == (before.step, before.updated_at)
    earliest = await u.press_forged(f"pc:{nonce}:f:20261110:0")  # the one-tap slot, forged
    assert await answer_of(u, earliest)
    [after] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (after.step, after.updated_at) == (before.step, before.updated_at)
    assert await count(app, Visit) == 1
    # Reschedule: the visit's own day stays (another window); no other busy day exists yet.
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_far_pin_sent_in_data_saya_is_asked_about_then_kept_or_sent_again(
    app: HomecareApp, client: Any, language: str
) -> None:
    from tests.patient.helpers import register_self

    u = await user(client, "nai", language)
    await register_self(u)
    for keep in (False, True):
        await u.send("/data_saya")
        await last(u)
        await u.press(t(language, "patient.data.fix_btn"))
        await last(u)
        await u.press(t(language, "patient.data.field.loc"))
        where = await last(u)
        await u.press_reply(where.reply_buttons[0].text, latitude=JAKARTA[0], longitude=JAKARTA[1])
        ask = await last(u)
        assert t(language, "location.far_yes") in ask.button_texts
        [patient] = await rows(app, Patient)
        assert (patient.lat, patient.lon) != JAKARTA  # nothing changed while asking
        if keep:
            await u.press(t(language, "location.far_yes"), message_id=ask.message_id)
            assert (await last(u)).plain_text == t(language, "patient.data.fixed")
            [patient] = await rows(app, Patient)
            assert (patient.lat, patient.lon) == JAKARTA
        else:
            await u.press(t(language, "location.far_again"), message_id=ask.message_id)
            again = await last(u)
            near = (-5.1590, 119.4470)
            await u.press_reply(again.reply_buttons[0].text, latitude=near[0], longitude=near[1])
            assert (await last(u)).plain_text == t(language, "patient.data.fixed")
            [patient] = await rows(app, Patient)
            assert (patient.lat, patient.lon) == near
    await no_failures(app)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_moving_a_visit_leaves_out_the_day_of_the_patients_other_visit(
    app: HomecareApp, client: Any, language: str
) -> None:
    from tests.patient.helpers import register_self

    u = await user(client, "nai", language)
    await register_self(u)
    service = services_first(app, language)
    await book(u, service=service)  # Tuesday 10 Nov
    await book(u, service=service)  # the soonest other day: Wednesday 11 Nov
    days = sorted(v.day.isoformat() for v in await rows(app, Visit))
    assert days == ["2026-11-10", "2026-11-11"]
    await u.send("/kunjungan_saya")
    listing = await last(u)
    await u.press(listing.buttons[0].text)  # move the Tuesday visit
    picker = await last(u)
    assert not any("11 Nov" in b for b in picker.button_texts)
    assert any("12 Nov" in b for b in picker.button_texts)
    assert t(language, "sameday.hidden", days="X").split("X")[0] in picker.plain_text
    await no_failures(app)
