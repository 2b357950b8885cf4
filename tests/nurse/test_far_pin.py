"""Story (issue 10 item 5c): a home pinned far outside the service area (a Jakarta pin kept by
the family) cannot be reached; the plan says why — the family hears that the saved location
seems wrong and how to fix it, the heads are told too — instead of a bare "no nurse can arrive"."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from bot.app import HomecareApp
from bot.i18n import t
from db.models import Account, Patient, PatientLink, StaffTask
from tests.nurse.helpers import MONDAY, TUESDAY, Clinic, add_visit, visits, wait_for, wita

JAKARTA = (-6.2088, 106.8456)


@pytest.mark.parametrize("language", ["id", "en"])
async def test_a_far_pin_that_fails_the_plan_is_named_to_family_and_heads(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller, language: str
) -> None:
    family = clinic.families[1]
    async with app.db.transaction() as s:
        await s.execute(
            update(Account).where(Account.id == family.account_id).values(language=language)
        )
        patient = Patient(
            clinic_id=app.clinic_id, full_name="Rina Jauh", lat=JAKARTA[0], lon=JAKARTA[1]
        )
        s.add(patient)
        await s.flush()
        s.add(
            PatientLink(account_id=family.account_id, patient_id=patient.id, relation="caregiver")
        )
        visit = await add_visit(s, app, patient.id, TUESDAY, "wound_care", (8, 14), "Luka")
    clock.move_to(wita(MONDAY, 18))
    [outcome] = await app.jobs.planning.nightly()
    assert visit.id in {vid for vid, _reason in outcome.unplaced}
    [after] = (await visits(app, [visit.id])).values()
    assert after.status == "unplaced" and after.unplaced_reason == "location_far"
    # The family: the location is the likely cause, how to fix it, and the other-day button.
    km = "1.399 km" if language == "id" else "1,399 km"
    opening = t(language, "location.unplaced", code="X", day="", km="", clinic="", phone="")
    sorry = await wait_for(family.user, opening.split("X")[0][:12])
    assert km in sorry.plain_text and "/data_saya" in sorry.plain_text
    assert sorry.button_texts == [t(language, "patient.visits.other_day")]
    # Every head: an alert naming the visit and the distance; the staff task says why.
    alert = await wait_for(clinic.head.user, "1.399 km")
    assert "📍" in alert.plain_text
    async with app.db.read() as s:
        task = await s.scalar(select(StaffTask).where(StaffTask.visit_id == visit.id))
    assert task is not None and "location_far" in (task.detail or "")


async def test_a_far_pin_is_not_blamed_when_the_skill_is_missing(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    """Only an unreachable home is put down to its pin: no nurse with the skill stays that."""
    family = clinic.families[2]
    async with app.db.transaction() as s:
        patient = Patient(
            clinic_id=app.clinic_id, full_name="Hasna Jauh", lat=JAKARTA[0], lon=JAKARTA[1]
        )
        s.add(patient)
        await s.flush()
        s.add(
            PatientLink(account_id=family.account_id, patient_id=patient.id, relation="caregiver")
        )
        visit = await add_visit(s, app, patient.id, TUESDAY, "palliative", (8, 14), "Nyeri")
    clock.move_to(wita(MONDAY, 18))
    await app.jobs.planning.nightly()
    [after] = (await visits(app, [visit.id])).values()
    assert after.status == "unplaced" and after.unplaced_reason == "no_nurse_with_skills"
    sorry = await wait_for(family.user, "belum dapat dijadwalkan")
    assert "/data_saya" not in sorry.plain_text
