"""Story: a head sets up "every 3 days × 7"; the family sees the series marked in /kunjungan_saya
with one "cancel the rest" button, each occurrence has its own reminders, the family cancels the
rest in two presses: every occurrence is cancelled (history, reminders off), the series is closed,
the head hears it once, and the head's visit log marks the series and names its rule (id, en)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from bot.app import HomecareApp
from bot.render.formats import visit_code
from db.models import Account, Reminder, Visit, VisitSeries, VisitStatusChange
from tests.nurse.helpers import Clinic, wait_for, wita

TEXT = {
    "id": {
        "told": "kunjungan rutin",
        "mark": "🔁 seri",
        "rest": "🛑 Batalkan sisa seri",
        "ask": "(7 kunjungan)",
        "yes": "Ya, batalkan sisanya",
        "done": "Sisa seri dibatalkan: 7 kunjungan.",
    },
    "en": {
        "told": "regular visits",
        "mark": "🔁 series",
        "rest": "🛑 Cancel the rest of the series",
        "ask": "(7 visits)",
        "yes": "Yes, cancel the rest",
        "done": "Rest of the series cancelled: 7 visits.",
    },
}


async def _series(app: HomecareApp, clinic: Clinic, family_language: str) -> list[Visit]:
    family = clinic.families[0]
    async with app.db.transaction() as s:
        await s.execute(
            update(Account).where(Account.id == family.account_id).values(language=family_language)
        )
        origin = await s.get(Visit, clinic.visits[0])
        assert origin is not None
        code = origin.code
    await clinic.head.user.send(f"/seri {code} 3 7")
    await wait_for(clinic.head.user, "Seri dibuat")
    await wait_for(family.user, TEXT[family_language]["told"], most=10)
    async with app.db.read() as s:
        return list(
            await s.scalars(select(Visit).where(Visit.series_id.is_not(None)).order_by(Visit.day))
        )


@pytest.mark.parametrize("language", ["id", "en"])
async def test_family_cancels_the_rest_of_a_series(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller, language: str
) -> None:
    t = TEXT[language]
    booked = await _series(app, clinic, language)
    assert len(booked) == 7
    ids = [v.id for v in booked]
    first = booked[0]
    # The evening before the first occurrence the plan takes it: it gets its own reminders, for
    # its own day; the later occurrences wait for their own evening.
    clock.move_to(wita(first.day - timedelta(days=1), 18))
    outcomes = await app.jobs.planning.nightly()
    assert [o.day for o in outcomes] == [first.day]
    async with app.db.read() as s:
        pending = list(
            await s.scalars(
                select(Reminder).where(Reminder.visit_id.in_(ids), Reminder.status == "pending")
            )
        )
        planned = await s.get(Visit, first.id)
    assert planned is not None and planned.status == "scheduled" and planned.nurse_id
    assert {r.visit_id for r in pending} == {first.id}
    assert {r.kind for r in pending} >= {"evening_before_confirm", "before_arrival"}
    assert all(r.due_at.date() <= first.day for r in pending)
    nurse = clinic.siti if planned.nurse_id == clinic.siti_id else clinic.andi

    user = clinic.families[0].user
    await user.send("/kunjungan_saya")
    listing = await wait_for(user, t["mark"])
    assert listing.plain_text.count(t["mark"]) == 7
    # One button for the whole series, not one per visit.
    assert listing.button_texts.count(t["rest"]) == 1
    await user.press(t["rest"], message_id=listing.message_id)
    ask = await wait_for(user, t["ask"])
    assert t["yes"] in ask.button_texts
    await user.press(t["yes"], message_id=ask.message_id)
    done = await wait_for(user, t["done"])
    assert done.plain_text.strip() == t["done"]

    async with app.db.read() as s:
        after = list(await s.scalars(select(Visit).where(Visit.id.in_(ids))))
        series = await s.get(VisitSeries, booked[0].series_id)
        still = list(
            await s.scalars(
                select(Reminder).where(Reminder.visit_id.in_(ids), Reminder.status == "pending")
            )
        )
        history = list(
            await s.scalars(
                select(VisitStatusChange).where(
                    VisitStatusChange.visit_id.in_(ids),
                    VisitStatusChange.to_status == "cancelled_by_patient",
                )
            )
        )
        origin = await s.get(Visit, clinic.visits[0])
    assert {v.status for v in after} == {"cancelled_by_patient"}
    assert {v.cancel_reason for v in after} == {"Sisa seri dibatalkan keluarga"}
    assert series is not None and series.cancelled_at is not None
    assert still == []
    assert len(history) == 7
    # The visit the series was made from is not part of it.
    assert origin is not None and origin.status == "requested"

    # The head hears it once, with every day in it; so does the nurse who had the first visit.
    note = await wait_for(clinic.head.user, "sisa seri", most=10)
    assert "7 kunjungan" in note.plain_text
    await clinic.head.user.expect_no_message()
    await wait_for(nurse.user, "sisa seri", most=10)

    # Asked again, the family sees no series button any more.
    await user.send("/kunjungan_saya")
    again = await wait_for(user, "")
    assert t["rest"] not in again.button_texts


async def test_head_log_marks_the_series_and_names_its_rule(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    booked = await _series(app, clinic, "id")
    head = clinic.head.user
    async with app.db.read() as s:
        origin = await s.get(Visit, clinic.visits[0])
    assert origin is not None
    await head.send(f"/kunjungan {origin.day.isoformat()} {booked[-1].day.isoformat()}")
    log = await wait_for(head, "")
    codes = {visit_code(v.code) for v in booked}
    rows = {b for b in log.button_texts if "·" in b}
    series_rows = [b for b in rows if any(c in b for c in codes)]
    other_rows = [b for b in rows if b not in series_rows]
    assert len(series_rows) == 7 and all("🔁" in b for b in series_rows)
    assert other_rows and not any("🔁" in b for b in other_rows)
    await head.press(series_rows[0], message_id=log.message_id)
    detail = await head.wait_edit(log)
    assert f"Seri #{booked[0].series_id}: tiap 3 hari, 7 kali" in detail.plain_text
