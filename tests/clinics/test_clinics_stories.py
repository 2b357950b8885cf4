"""Several puskesmas, one bot: a family is registered to the puskesmas of its kelurahan and gets
that clinic's days; a kelurahan in no area is told where to go and nothing is stored; the
nightly plan runs for each clinic by its own calendar (issue 12 item 4)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import HomecareApp
from db.models import AccountRole, Conversation, Patient, PlanRun, Visit
from tests.clinics.conftest import BARA
from tests.head import factory
from tests.patient.helpers import (
    NIK_1950_MALE,
    NOW,
    count,
    expect,
    fill_profile,
    last,
    no_danger_signs,
)
from tests.patient.story_helpers import account_of, no_failures, rows

WORDS = {
    "id": {"service": "Perawatan luka", "other_kel": "Kelurahan lain", "kept": "tidak kami simpan"},
    "en": {"service": "Wound care", "other_kel": "Another kelurahan", "kept": "have not stored"},
}


async def _start_registration(client: Any, name: str, lang: str) -> Any:
    u = await client.user(name, language_code=lang, first_name=name.capitalize())
    await u.send("/start")
    consent = await last(u)
    # Not yet routed to a clinic: the welcome and consent name every puskesmas of the install.
    assert "Puskesmas Kassi-Kassi / Puskesmas Bara-Baraya" in consent.plain_text
    await u.press(consent.buttons[0].text)  # agree — for myself
    return u


async def _offered_days(u: Any, lang: str) -> list[str]:
    """From the service question to the day buttons (their labels, without the first "⚡")."""
    await u.press(WORDS[lang]["service"])
    await no_danger_signs(u)
    await u.send("Luka di kaki belum kering")
    days = await last(u)
    return days.button_texts


def _days(labels: list[str]) -> list[str]:
    """The day numbers of the day buttons ("Sel 10 Nov" → "10"), the "earliest" one left out."""
    return [m.group(1) for t in labels[1:] if (m := re.search(r"\b(\d{1,2}) Nov", t))]


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_family_of_a_bara_baraya_kelurahan_is_registered_there_and_gets_its_days(
    app: HomecareApp, client: Any, lang: str
) -> None:
    bara = app.clinics.id_of(BARA.code)
    u = await _start_registration(client, f"zahra{lang}", lang)
    await fill_profile(
        u, name="Zubaidah Qomariah", nik=NIK_1950_MALE, kelurahan="maricaya", location=False
    )
    _saved, _services = await expect(u, 2)
    (patient,) = await rows(app, Patient)
    assert (patient.clinic_id, patient.kelurahan) == (bara, "Maricaya")
    account = await account_of(app, u.id)
    roles = await rows(app, AccountRole, AccountRole.account_id == account.id)
    assert [(r.clinic_id, r.role) for r in roles] == [(bara, "patient")]
    # Bara-Baraya: Monday to Wednesday, closed Wednesday 11 Nov; Kassi-Kassi: Monday to Saturday.
    bara_days = await _offered_days(u, lang)
    a = await _start_registration(client, f"ahmad{lang}", lang)
    await fill_profile(a, name="Ahmad Kassi", nik=None, kelurahan="Karunrung", location=False)
    await expect(a, 2)
    kassi_days = await _offered_days(a, lang)
    assert _days(bara_days)[:5] == ["10", "16", "17", "18", "23"]
    assert _days(kassi_days)[:6] == ["10", "11", "12", "13", "14", "16"]
    # The booking itself is Bara-Baraya's: the window buttons end with the clinic's hours.
    await u.press(bara_days[1])
    windows = await last(u)
    assert not any(w.startswith("12:00") for w in windows.button_texts), windows.button_texts
    await no_failures(app)


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_a_kelurahan_in_no_area_is_told_which_puskesmas_serve_where_and_nothing_stored(
    app: HomecareApp, client: Any, lang: str
) -> None:
    u = await _start_registration(client, f"ola{lang}", lang)
    await fill_profile(u, name="Ola Sitorus", nik=NIK_1950_MALE, kelurahan=None, location=False)
    kel = await last(u)
    every = [*app.config.clinic.service_area, *BARA.service_area]
    assert kel.button_texts[: len(every)] == every
    await u.press(WORDS[lang]["other_kel"])
    told = (await last(u)).plain_text
    for clinic in app.config.clinics:
        assert clinic.name in told and clinic.phone in told
        assert ", ".join(clinic.service_area) in told
    assert WORDS[lang]["kept"] in told
    assert await count(app, Patient) == 0
    account = await account_of(app, u.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    assert await rows(app, AccountRole, AccountRole.account_id == account.id) == []
    await no_failures(app)


def _near(lat: float, lon: float, north_m: float) -> tuple[float, float]:
    return lat + north_m / 111_320.0, lon + north_m / (111_320.0 * math.cos(math.radians(lat)))


async def _requests(app: HomecareApp, clinic_id: int, centre: Any, day: date, n: int) -> None:
    async with app.db.transaction() as s:
        for i in range(n):
            p = await factory.patient(s, clinic_id, f"Pasien {clinic_id}-{i}")
            p.lat, p.lon = _near(centre.lat, centre.lon, 300.0 * (i + 1))
            await factory.visit(s, clinic_id, p, day, "requested", window=(10, 12))


async def test_the_nightly_plan_runs_for_each_clinic_by_its_own_calendar(app: HomecareApp) -> None:
    kassi, bara = app.clinic_id, app.clinics.id_of(BARA.code)
    tuesday, wednesday = date(2026, 11, 10), date(2026, 11, 11)
    for day in (tuesday, wednesday):
        await _requests(app, kassi, app.config.clinic.location, day, 2)
        await _requests(app, bara, BARA.location, day, 2)
    evening = datetime.combine(NOW.date(), NOW.timetz().replace(hour=18, minute=5))
    outcomes = await app.jobs.planning.nightly(evening)
    assert sorted(o.status for o in outcomes) == ["done", "done"]
    runs = await rows(app, PlanRun)
    assert sorted((r.clinic_id, r.day) for r in runs) == [(kassi, tuesday), (bara, tuesday)]
    async with app.db.read() as s:
        planned = list(await s.scalars(select(Visit).where(Visit.day == tuesday)))
        nurses = {v.clinic_id: set() for v in planned}
        for v in planned:
            assert v.status == "scheduled", (v.clinic_id, v.status)
            nurses[v.clinic_id].add(v.nurse_id)
    # Each clinic's visits went to its own nurses only.
    from db.models import Nurse

    async with app.db.read() as s:
        owner = {n.id: n.clinic_id for n in await s.scalars(select(Nurse))}
    assert all(owner[n] == c for c, ns in nurses.items() for n in ns)
    # Tuesday evening: Wednesday 11 Nov is a Kassi-Kassi working day, a Bara-Baraya closure.
    outcomes = await app.jobs.planning.nightly(evening + timedelta(days=1))
    runs = await rows(app, PlanRun, PlanRun.day == wednesday)
    assert [r.clinic_id for r in runs] == [kassi]
    assert len(outcomes) == 1
    # Each clinic has its own cron job, in its own time zone.
    ids = {j.id for j in app.jobs.scheduler.get_jobs()}
    assert {"planning:nightly", f"planning:nightly:{BARA.code}"} <= ids
    assert {"digest:hours", f"digest:hours:{BARA.code}", f"report:weekly:{BARA.code}"} <= ids
