"""Story: a head sets up "every 3 days × 7" for a patient with /seri; the series crosses a Sunday
(25 Apr 2027) and a holiday (Sat 1 May 2027, Labour Day, then Sunday): those visits move to the
next working day, each occurrence is an ordinary visit, and the family is told which moved
(id and en). A weekly series and a bad rule too."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from bot.app import HomecareApp
from db.models import Account, Visit, VisitSeries
from tests.nurse.helpers import Clinic, wait_for

DAYS = [date(2027, 4, d) for d in (16, 19, 22, 26, 28)] + [date(2027, 5, 3), date(2027, 5, 4)]
TEXT = {
    "id": {"told": "kunjungan rutin", "moved": "dipindah dari Min 25 Apr", "may": "Sen 3 Mei"},
    "en": {"told": "regular visits", "moved": "moved from Sun 25 Apr", "may": "Mon 3 May"},
}

ONE = {
    "id": {"list": "Kunjungan mendatang", "done": "dibatalkan"},
    "en": {"list": "Upcoming visits", "done": "is cancelled"},
}


async def _code(app: HomecareApp, visit_id: int) -> str:
    async with app.db.read() as s:
        visit = await s.get(Visit, visit_id)
        assert visit is not None
        return visit.code


@pytest.mark.parametrize("language", ["id", "en"])
async def test_head_series_across_a_sunday_and_a_holiday(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller, language: str
) -> None:
    family = clinic.families[0]
    async with app.db.transaction() as s:
        await s.execute(
            update(Account).where(Account.id == family.account_id).values(language=language)
        )
    code = await _code(app, clinic.visits[0])
    await clinic.head.user.send(f"/seri {code} 3 7")
    done = await wait_for(clinic.head.user, "7")
    assert "7" in done.plain_text and ("Sen 26 Apr" in done.plain_text)

    async with app.db.read() as s:
        [series] = list(await s.scalars(select(VisitSeries)))
        booked = list(
            await s.scalars(select(Visit).where(Visit.series_id == series.id).order_by(Visit.day))
        )
    assert series.rule == "every:3x7" and series.patient_id == clinic.patients[0]
    assert [v.day for v in booked] == DAYS
    assert {v.status for v in booked} == {"requested"}
    assert {v.service_type for v in booked} == {"wound_care"}

    t = TEXT[language]
    told = await wait_for(family.user, t["told"], most=10)
    assert t["moved"] in told.plain_text and t["may"] in told.plain_text
    assert "/kunjungan_saya" in told.plain_text
    # No other family hears of it.
    await clinic.families[1].user.expect_no_message()


async def test_weekly_series_and_a_bad_rule(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    head = clinic.head.user
    code = await _code(app, clinic.visits[1])
    await head.send(f"/seri {code} tiap hari")
    await wait_for(head, "tidak dimengerti")
    await head.send("/seri NOPE99 3 5")
    await wait_for(head, "tidak ditemukan")
    await head.send(f"/seri {code} sen,kam 29-04-2027")
    await wait_for(head, "Seri dibuat")
    async with app.db.read() as s:
        days = list(await s.scalars(select(Visit.day).where(Visit.series_id.is_not(None))))
    # Thu 15, Mon 19, Thu 22, Mon 26, Thu 29 April 2027.
    assert sorted(days) == [date(2027, 4, d) for d in (15, 19, 22, 26, 29)]


@pytest.mark.parametrize("language", ["id", "en"])
async def test_one_occurrence_is_cancelled_and_the_rest_stays(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller, language: str
) -> None:
    """Each occurrence is an ordinary visit: the family cancels one from /kunjungan_saya, the
    other occurrences keep their days."""
    from bot.render.formats import visit_code

    family = clinic.families[0]
    async with app.db.transaction() as s:
        await s.execute(
            update(Account).where(Account.id == family.account_id).values(language=language)
        )
    code = await _code(app, clinic.visits[0])
    await clinic.head.user.send(f"/seri {code} 3 7")
    await wait_for(clinic.head.user, "7")
    await wait_for(family.user, TEXT[language]["told"], most=10)
    async with app.db.read() as s:
        booked = list(
            await s.scalars(select(Visit).where(Visit.series_id.is_not(None)).order_by(Visit.day))
        )
    second = booked[1]  # Mon 19 Apr
    await family.user.send("/kunjungan_saya")
    listing = await wait_for(family.user, ONE[language]["list"])
    [cancel] = [
        b for b in listing.button_texts if b.startswith("✖") and visit_code(second.code) in b
    ]
    await family.user.press(cancel, message_id=listing.message_id)
    ask = await wait_for(family.user, "")
    await family.user.press(ask.button_texts[0], message_id=ask.message_id)
    await wait_for(family.user, ONE[language]["done"])
    async with app.db.read() as s:
        after = {
            v.id: v for v in await s.scalars(select(Visit).where(Visit.series_id.is_not(None)))
        }
    assert after[second.id].status == "cancelled_by_patient"
    rest = [v for vid, v in after.items() if vid != second.id]
    assert [v.day for v in sorted(rest, key=lambda v: v.day)] == [
        d for d in DAYS if d != second.day
    ]
    assert {v.status for v in rest} == {"requested"}
