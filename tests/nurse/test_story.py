"""Story: the nightly plan → each nurse's morning route (text, Maps link, picture) → "Berangkat"
→ the family's ETA → "Selesai" with vitals (a bad value refused first) → the family's feedback
request. Everything through the real app, the sandbox and the database."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlparse

import time_machine
from sqlalchemy import func, select

from bot.app import HomecareApp
from db.models import OutboxMessage, Patient, PlanRun, VisitStatusChange
from tests.nurse.helpers import (
    CLINIC,
    MONDAY,
    TUESDAY,
    Clinic,
    answer_of,
    assert_sound,
    visits,
    wait_for,
    wita,
)

PNG = b"\x89PNG\r\n\x1a\n"


async def test_nightly_plan_then_the_nurses_day(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    # Monday 18:00: the nightly job plans Tuesday.
    clock.move_to(wita(MONDAY, 18))
    outcomes = await app.jobs.planning.nightly()
    assert [o.status for o in outcomes] == ["done"]
    outcome = outcomes[0]
    assert outcome.day == TUESDAY and outcome.assigned == 5 and outcome.unplaced == ()
    async with app.db.read() as s:
        run = await s.scalar(select(PlanRun).where(PlanRun.id == outcome.run_id))
    assert run is not None
    assert_sound(run)
    # The job is idempotent: run again, nothing is queued or sent twice.
    assert await app.jobs.planning.nightly() == []

    planned = await visits(app, clinic.visits)
    assert {v.status for v in planned.values()} == {"scheduled"}
    nurse_of = {v.id: v.nurse_id for v in planned.values()}
    assert set(nurse_of.values()) <= {clinic.siti_id, clinic.andi_id}
    # Every family hears the nurse's first name and an arrival window.
    for family, visit_id in zip(clinic.families, clinic.visits, strict=True):
        [told] = await family.user.wait_messages(1)
        first = "Siti" if nurse_of[visit_id] == clinic.siti_id else "Andi"
        assert "Jadwal kunjungan" in told.plain_text
        assert f"Perawat: {first}" in told.plain_text
        assert "Perkiraan tiba:" in told.plain_text
        assert "Jl. Contoh" not in told.plain_text  # no address goes to anyone but the nurse

    # Tuesday 06:30: each nurse with visits gets her route, once.
    clock.move_to(wita(TUESDAY, 6, 30))
    assert await app.jobs.planning.morning_routes() >= 1
    assert await app.jobs.planning.morning_routes() == 0
    siti_visits = [v for v in planned.values() if v.nurse_id == clinic.siti_id]
    assert siti_visits, "this story follows Siti"
    digest = await wait_for(clinic.siti.user, "Rute Anda")
    picture = await clinic.siti.user.wait_message()
    assert f"{len(siti_visits)} kunjungan" in digest.plain_text
    maps = [b for b in digest.buttons if b.url]
    assert maps and all(b.url.startswith("https://www.google.com/maps/dir/?api=1") for b in maps)
    query = parse_qs(urlparse(maps[0].url).query)
    assert query["origin"] == [f"{CLINIC[0]:.6f},{CLINIC[1]:.6f}"]
    assert query["travelmode"] == ["driving"]
    assert query["dir_action"] == ["navigate"]
    if len(maps) == 1:  # the whole tour in one link: back to the clinic at the end
        assert query["destination"] == query["origin"]
        assert len(query["waypoints"][0].split("|")) == len(siti_visits)
    # The patient's first name and age, the address with its landmark, the complaint.
    first_stop = min(siti_visits, key=lambda v: v.planned_start or wita(TUESDAY, 23))
    async with app.db.read() as s:
        patient = await s.get(Patient, first_stop.patient_id)
    assert patient is not None and patient.full_name
    assert patient.full_name.split()[0] in digest.plain_text
    assert "Patokan: dekat masjid" in digest.plain_text
    assert first_stop.complaint and first_stop.complaint in digest.plain_text
    assert picture.kind == "photo" and picture.photo is not None
    png = await client.file_bytes(picture.photo)
    assert png.startswith(PNG) and len(png) > 5_000

    # 07:45: Siti opens her first visit and leaves.
    clock.move_to(wita(TUESDAY, 7, 45))
    await clinic.siti.user.press("1", message_id=digest.message_id)
    card = await wait_for(clinic.siti.user, "Kunjungan 1")
    assert "Kunjungan 1" in card.plain_text and patient.phone in card.plain_text
    await clinic.siti.user.press("🛵 Berangkat", message_id=card.message_id)
    card = await clinic.siti.user.wait_edit(card)
    assert "🛵" in card.plain_text and "📍 Tiba" in card.button_texts
    family = clinic.families[clinic.visits.index(first_stop.id)]
    eta = await wait_for(family.user, "sedang menuju")
    assert "Siti" in eta.plain_text
    assert "Perkiraan tiba sekitar pukul" in eta.plain_text

    # She arrives, finishes, and types a note with an impossible blood pressure first.
    clock.move_to(wita(TUESDAY, 8, 5))
    await clinic.siti.user.press("📍 Tiba", message_id=card.message_id)
    card = await clinic.siti.user.wait_edit(card)
    await clinic.siti.user.press("✅ Selesai", message_id=card.message_id)
    await wait_for(clinic.siti.user, "catatan singkat")
    await clinic.siti.user.send("Luka bersih\nTD 300/85, suhu 36,7")
    refused = await wait_for(clinic.siti.user, "Tekanan darah (TD)")
    assert (
        "Tekanan darah (TD)" in refused.plain_text and "tidak ada yang diubah" in refused.plain_text
    )
    [still] = (await visits(app, [first_stop.id])).values()
    assert still.status == "arrived" and still.vitals is None and still.nurse_note is None

    await clinic.siti.user.send(
        "Luka bersih, balutan diganti\nTD 130/85, GDS 140, suhu 36,7, SpO2 98, nadi 80"
    )
    done = await wait_for(clinic.siti.user, "tercatat selesai")
    assert "tercatat selesai" in done.plain_text and "TD 130/85" in done.plain_text
    [finished] = (await visits(app, [first_stop.id])).values()
    assert finished.status == "completed"
    assert finished.nurse_note == "Luka bersih, balutan diganti"
    assert finished.vitals is not None
    assert {k: v for k, v in finished.vitals.items() if v is not None} == {
        "systolic": 130,
        "diastolic": 85,
        "glucose_mg_dl": 140,
        "temperature_c": 36.7,
        "spo2_pct": 98,
        "pulse_per_min": 80,
    }
    async with app.db.read() as s:
        patient = await s.get(Patient, first_stop.patient_id)
        history = list(
            await s.scalars(
                select(VisitStatusChange)
                .where(VisitStatusChange.visit_id == first_stop.id)
                .order_by(VisitStatusChange.id)
            )
        )
    assert patient is not None and patient.last_nurse_id == clinic.siti_id
    assert [(h.to_status, h.actor_role) for h in history] == [
        ("requested", "patient"),
        ("scheduled", "system"),
        ("scheduled", "system"),  # the plan: who comes and when (detail, for the family's export)
        ("on_the_way", "nurse"),
        ("arrived", "nurse"),
        ("completed", "nurse"),
    ]
    assert history[2].detail is not None and history[2].detail["event"] == "plan"
    assert history[2].detail["nurse_id"] == clinic.siti_id
    assert {h.actor_account_id for h in history[3:]} == {clinic.siti.account_id}
    # The family is asked for feedback.
    feedback = await wait_for(family.user, "Beri nilai 1")
    assert feedback.buttons, feedback.plain_text

    # A stale button (an old "Berangkat" a slow client still shows) changes nothing.
    before = await _outbox_count(app)
    press = await clinic.siti.user.press_forged(f"nac:go:{first_stop.id}")
    answer = await answer_of(client, press)
    assert "sudah tidak berlaku" in answer and "Selesai" in answer
    [after] = (await visits(app, [first_stop.id])).values()
    assert after.status == "completed"
    assert await _outbox_count(app) == before

    # Andi cannot act on Siti's visit, whatever he sends.
    other = next(v for v in siti_visits if v.id != first_stop.id) if len(siti_visits) > 1 else None
    target = other or first_stop
    press = await clinic.andi.user.press_forged(f"nac:go:{target.id}")
    assert "tidak ditugaskan kepada Anda" in await answer_of(client, press)
    press = await clinic.andi.user.press_forged(f"nst:{target.id}")
    assert "tidak ditugaskan kepada Anda" in await answer_of(client, press)
    press = await clinic.andi.user.press_forged("nac:go:99999999999999999999")
    assert "tidak berlaku" in await answer_of(client, press)
    [unchanged] = (await visits(app, [target.id])).values()
    assert unchanged.status == target.status
    assert await _outbox_count(app) == before


async def _outbox_count(app: HomecareApp) -> int:
    async with app.db.read() as s:
        return int(await s.scalar(select(func.count(OutboxMessage.id))) or 0)
