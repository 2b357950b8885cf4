"""The nurse's commands and the "Selesai" step's edges: /jadwal and /besok, /cuti, a note too
long, "done without a note", cancelling; text that is not hers falls through to the others."""

from __future__ import annotations

from datetime import date
from typing import Any

import time_machine
from sqlalchemy import select

from bot.app import HomecareApp
from db.models import Conversation, NurseLeave, StaffTask
from tests.nurse.helpers import (
    MONDAY,
    TUESDAY,
    Clinic,
    act,
    plan_tuesday,
    routes_of,
    visits,
    wait_for,
    wita,
)


async def test_schedule_today_and_tomorrow(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    siti = clinic.siti.user
    await siti.send("/jadwal")
    today = await wait_for(siti, "Jadwal hari ini")
    assert "Senin, 12 April 2027" in today.plain_text and "belum dibuat" in today.plain_text
    await siti.send("/besok")
    tomorrow = await wait_for(siti, "Jadwal besok")
    assert "belum dibuat" in tomorrow.plain_text

    clock.move_to(wita(MONDAY, 18))
    [_] = await app.jobs.planning.nightly()
    mine = (await routes_of(app))[clinic.siti_id]
    await siti.send("/besok")
    tomorrow = await wait_for(siti, "Jadwal besok")
    assert f"{len(mine)} kunjungan" in tomorrow.plain_text
    assert [b.text for b in tomorrow.buttons if b.callback_data] == [
        str(i) for i in range(1, len(mine) + 1)
    ]
    # Tomorrow's card shows the address but no status buttons yet.
    await siti.press("1", message_id=tomorrow.message_id)
    card = await wait_for(siti, "Kunjungan 1")
    assert "Jl. Contoh" in card.plain_text and "hari kunjungan" in card.plain_text
    assert "🛵 Berangkat" not in card.button_texts
    # Pressing "Berangkat" a day early (a forged button) is refused with the day.
    first = mine[0]
    press = await siti.press_forged(f"nac:go:{first}")
    from tests.nurse.helpers import answer_of

    assert "bukan hari ini" in await answer_of(client, press)
    [still] = (await visits(app, [first])).values()
    assert still.status == "scheduled"


async def test_declaring_leave(app: HomecareApp, clinic: Clinic) -> None:
    siti = clinic.siti.user
    await siti.send("/cuti")
    await wait_for(siti, "/cuti 15/12 17/12")
    await siti.send("/cuti 15/04 18/04")  # Thursday to Sunday
    saved = await wait_for(siti, "Cuti diajukan")
    assert "Kamis, 15 April 2027" in saved.plain_text and "Sabtu, 17 April 2027" in saved.plain_text
    assert "Bukan hari kerja" in saved.plain_text and "Minggu, 18 April 2027" in saved.plain_text
    async with app.db.read() as s:
        leave = list(await s.scalars(select(NurseLeave).order_by(NurseLeave.day)))
        tasks = list(await s.scalars(select(StaffTask).where(StaffTask.kind == "leave_request")))
    assert [(lv.day, lv.kind, lv.approved) for lv in leave] == [
        (date(2027, 4, 15), "leave", False),
        (date(2027, 4, 16), "leave", False),
        (date(2027, 4, 17), "leave", False),
    ]
    assert len(tasks) == 1 and tasks[0].account_id == clinic.siti.account_id
    await siti.send("/cuti 16/04")
    await wait_for(siti, "Sudah diajukan sebelumnya")
    await siti.send("/cuti")
    listed = await wait_for(siti, "Cuti yang sudah Anda ajukan")
    assert "menunggu persetujuan" in listed.plain_text
    for text, answer in [
        ("/cuti 12/04", "paling cepat untuk besok"),
        ("/cuti 20/04 19/04", "sebelum tanggal awal"),
        ("/cuti 1/05 30/05", "Paling banyak 14 hari"),
        ("/cuti kemarin", "tidak dikenali"),
    ]:
        await siti.send(text)
        await wait_for(siti, answer)
    async with app.db.read() as s:
        assert len(list(await s.scalars(select(NurseLeave)))) == 3
    # Not for families.
    await clinic.families[0].user.send("/cuti 15/04")
    await wait_for(clinic.families[0].user, "tidak memiliki akses")


async def test_the_done_step_edges(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    first, second = (await routes_of(app))[clinic.siti_id][:2]
    clock.move_to(wita(TUESDAY, 8, 0))
    await act(app, clinic.siti_id, first, "go", "arr")
    await act(app, clinic.siti_id, second, "go", "arr")  # out of order: both at the door
    siti = clinic.siti.user
    await wait_for(siti, "Rute Anda")
    await siti.press_forged(f"nac:done:{first}")
    prompt = await wait_for(siti, "catatan singkat")

    await siti.send("x" * 1001)
    await wait_for(siti, "terlalu panjang")
    # "Batal" leaves the step; text now goes elsewhere, the visit stays open.
    await siti.press("↩️ Batal", message_id=prompt.message_id)
    await siti.send("halo")
    reply = await siti.wait_message()
    assert "tercatat selesai" not in reply.plain_text
    async with app.db.read() as s:
        assert await s.get(Conversation, clinic.siti.account_id) is None
    [open_visit] = (await visits(app, [first])).values()
    assert open_visit.status == "arrived"

    # "Selesai tanpa catatan".
    await siti.press_forged(f"nac:done:{first}")
    prompt = await wait_for(siti, "catatan singkat")
    await siti.press("Selesai tanpa catatan", message_id=prompt.message_id)
    done = await siti.wait_edit(prompt)
    assert "tercatat selesai" in done.plain_text
    assert "Berikutnya" in done.plain_text or "Semua kunjungan" in done.plain_text
    [finished] = (await visits(app, [first])).values()
    assert finished.status == "completed" and finished.nurse_note is None

    # Vitals alone on one line are vitals, not a note.
    await siti.press_forged(f"nac:done:{second}")
    await wait_for(siti, "catatan singkat")
    await siti.send("GDS 8,5")
    refused = await wait_for(siti, "tidak ada yang diubah")
    assert "mg/dL" in refused.plain_text
    await siti.send("ttv: suhu 37,2 nadi 90")
    await wait_for(siti, "tercatat selesai")
    [second_visit] = (await visits(app, [second])).values()
    assert second_visit.nurse_note is None
    assert second_visit.vitals is not None and second_visit.vitals["pulse_per_min"] == 90


async def test_family_text_is_not_read_as_a_nurse_note(app: HomecareApp, clinic: Clinic) -> None:
    family = clinic.families[0].user
    await family.send("TD 130/85")
    reply = await family.wait_message()
    assert "catatan" not in reply.plain_text and "Tanda vital" not in reply.plain_text


async def test_nobody_at_home(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    await plan_tuesday(app, clock)
    first = (await routes_of(app))[clinic.andi_id][0]
    clock.move_to(wita(TUESDAY, 8, 0))
    await act(app, clinic.andi_id, first, "go")
    andi = clinic.andi.user
    await wait_for(andi, "Rute Anda")
    await andi.press_forged(f"nst:{first}")
    card = await wait_for(andi, "Kunjungan 1")
    assert "✅ Selesai" not in card.button_texts  # not before "Tiba"
    await andi.press("🚪 Pasien tidak di rumah", message_id=card.message_id)
    ask = await andi.wait_edit(card)
    assert "pasien tidak di rumah" in ask.plain_text
    await andi.press("Ya, tidak di rumah", message_id=card.message_id)
    closed = await andi.wait_edit(ask)
    assert "tidak bertemu pasien" in closed.plain_text
    [visit] = (await visits(app, [first])).values()
    assert visit.status == "not_home"
    family = clinic.families[clinic.visits.index(first)]
    told = await wait_for(family.user, "tidak bertemu pasien di rumah")
    assert "/minta_kunjungan" in told.plain_text
    async with app.db.read() as s:
        task = await s.scalar(select(StaffTask).where(StaffTask.kind == "not_home"))
    assert task is not None and task.visit_id == first


async def test_besok_on_saturday_shows_monday(
    app: HomecareApp, client: Any, clinic: Clinic, clock: time_machine.Traveller
) -> None:
    """No home visits on Sunday: /besok on a Saturday shows Monday, and says it is not tomorrow."""
    from datetime import timedelta

    saturday = MONDAY + timedelta(days=5)
    clock.move_to(wita(saturday, 15))
    siti = clinic.siti.user
    await siti.send("/besok")
    monday = await wait_for(siti, "Jadwal hari kerja berikutnya")
    assert "Senin, 19 April 2027" in monday.plain_text
    assert "Jadwal besok" not in monday.plain_text
