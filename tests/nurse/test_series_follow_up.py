"""Story: "Selesai" → "🔁 Kunjungan lanjutan" → 7 days → the same service is booked for the same
patient (its own reminders), the family is told; a closed day moves it on, and the family hears
why (id and en). A second follow-up of the same visit is refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from bot.app import HomecareApp
from db.models import Account, ClinicClosure, Reminder, Visit
from tests.nurse.helpers import TUESDAY, Clinic, act, plan_tuesday, routes_of, wait_for, wita

TEXT = {
    "id": {
        "done": "tercatat selesai",
        "nonote": "Selesai tanpa catatan",
        "prompt": "catatan singkat",
        "follow": "🔁 Kunjungan lanjutan",
        "seven": "7 hari lagi",
        "ask": "Berapa hari lagi",
        "booked": "Kunjungan lanjutan dicatat",
        "family": "kunjungan lanjutan",
        "moved": "dipindah ke",
        "refused": "sudah dibuat",
        "day": "Rabu, 21 April 2027",
    },
    "en": {
        "done": "recorded as done",
        "nonote": "Done without a note",
        "prompt": "short note",
        "follow": "🔁 Follow-up visit",
        "seven": "in 7 days",
        "ask": "In how many days",
        "booked": "Follow-up visit booked",
        "family": "follow-up visit",
        "moved": "moved to",
        "refused": "already been made",
        "day": "Wednesday, 21 April 2027",
    },
}


async def _speak(app: HomecareApp, language: str, *account_ids: int) -> None:
    async with app.db.transaction() as s:
        await s.execute(
            update(Account).where(Account.id.in_(account_ids)).values(language=language)
        )


@pytest.mark.parametrize("language", ["id", "en"])
async def test_follow_up_from_selesai(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller, language: str
) -> None:
    t = TEXT[language]
    await plan_tuesday(app, clock)
    first = (await routes_of(app))[clinic.siti_id][0]
    async with app.db.read() as s:
        origin = await s.get(Visit, first)
        assert origin is not None
    family = clinic.families[clinic.patients.index(origin.patient_id)]
    await _speak(app, language, clinic.siti.account_id, family.account_id)
    # Tuesday + 7 is closed for the clinic: the follow-up moves to Wednesday.
    async with app.db.transaction() as s:
        s.add(ClinicClosure(clinic_id=app.clinic_id, day=TUESDAY + timedelta(days=7), reason="x"))
    clock.move_to(wita(TUESDAY, 8, 0))
    await act(app, clinic.siti_id, first, "go", "arr")
    siti = clinic.siti.user
    await siti.press_forged(f"nac:done:{first}")
    prompt = await wait_for(siti, t["prompt"])
    await siti.press(t["nonote"], message_id=prompt.message_id)
    done = await siti.wait_edit(prompt)
    assert t["done"] in done.plain_text and t["follow"] in done.button_texts

    await siti.press(t["follow"], message_id=done.message_id)
    ask = await wait_for(siti, t["ask"])
    assert t["seven"] in ask.button_texts
    await siti.press(t["seven"], message_id=ask.message_id)
    booked = await wait_for(siti, t["booked"])
    assert t["day"] in booked.plain_text

    async with app.db.read() as s:
        [follow] = list(await s.scalars(select(Visit).where(Visit.follow_up_of == first)))
    assert follow.patient_id == origin.patient_id and follow.service_type == origin.service_type
    assert follow.day == TUESDAY + timedelta(days=8) and follow.status == "requested"
    assert (follow.window_start, follow.window_end) == (origin.window_start, origin.window_end)

    told = await wait_for(family.user, t["family"], most=10)
    assert t["moved"] in told.plain_text and t["day"] in told.plain_text

    # The same visit cannot get a second follow-up.
    await siti.press(t["seven"], message_id=ask.message_id)
    await wait_for(siti, t["refused"])
    async with app.db.read() as s:
        again = list(await s.scalars(select(Visit).where(Visit.follow_up_of == first)))
    assert len(again) == 1

    # The evening before, the plan gives it to Siti again (continuity) and its reminders exist.
    clock.move_to(wita(follow.day - timedelta(days=1), 18))
    outcomes = await app.jobs.planning.nightly()
    assert [o.day for o in outcomes] == [follow.day]
    async with app.db.read() as s:
        planned = await s.get(Visit, follow.id)
        reminders = list(await s.scalars(select(Reminder).where(Reminder.visit_id == follow.id)))
    assert planned is not None and planned.status == "scheduled"
    assert planned.nurse_id == clinic.siti_id
    assert {r.kind for r in reminders} >= {"evening_before_confirm", "before_arrival"}
