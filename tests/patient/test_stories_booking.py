"""Story tests of the family journey: booking, and cancelling or moving a visit.

Time stands at Monday 9 Nov 2026, 09:00 WITA (tests.patient.helpers.NOW); the clinic has two
nurses (08:00–14:00) and a head whose Telegram chat receives the staff notes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import HomecareApp
from bot.i18n import Translator, t
from bot.messages import Reply, to_payload
from bot.render.patient import other_day_button
from db.models import (
    Account,
    Conversation,
    DayCapacity,
    Nurse,
    Patient,
    Visit,
    VisitStatusChange,
)
from db.services import outbox
from db.services.visit_status import change_status
from scheduler.visits import Actor, VisitStatus
from tests.patient.helpers import (
    NOW,
    NURSE_USER_ID,
    TUESDAY,
    answer_of,
    book,
    count,
    last,
    no_danger_signs,
    register_self,
    user,
)
from tests.patient.story_helpers import account_of, head_user, no_failures, rows

# --- booking ---------------------------------------------------------------------------------


async def test_booking_end_to_end_takes_capacity_and_records_the_status(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/minta_kunjungan")
    services = await last(nai)
    assert services.button_texts[:8] == [s.name_id for s in app.config.services]
    await nai.press("Perawatan luka")
    await no_danger_signs(nai)
    await nai.send("Luka  di kaki\nbelum kering <3")
    days = await last(nai)
    assert days.plain_text == "Pilih hari kunjungan:"
    assert days.button_texts == [
        "⚡ Paling cepat: Sel 10 Nov, 08:00–10:00",
        "Sel 10 Nov",
        "Rab 11 Nov",
        "Kam 12 Nov",
        "Jum 13 Nov",
        "Sab 14 Nov",
        "Sen 16 Nov",
        "Sel 17 Nov",
        "✖ Batal",
    ]
    assert all(len((b.callback_data or "").encode()) <= 64 for b in days.buttons)
    await nai.press("Rab 11 Nov")
    windows = await last(nai)
    assert windows.button_texts == ["08:00–10:00", "10:00–12:00", "12:00–14:00", "✖ Batal"]
    await nai.press("10:00–12:00")
    summary = await last(nai)
    assert "Keluhan: Luka di kaki belum kering <3" in summary.plain_text
    assert "&lt;3" in (summary.text or "")  # what the person typed is escaped
    assert "Hari: Rabu, 11 November 2026" in summary.plain_text
    await nai.press("✅ Kirim permintaan")
    done = await last(nai)
    [visit] = await rows(app, Visit)
    code = f"{visit.code[:3]}-{visit.code[3:]}"
    assert f"Kode: {code}" in done.plain_text
    assert "Rabu, 11 November 2026, jam 10:00–12:00" in done.plain_text
    assert (visit.status, visit.service_type, visit.duration_min, visit.capacity_min) == (
        "requested",
        "wound_care",
        45,
        45,
    )
    assert visit.complaint == "Luka di kaki belum kering <3"
    [history] = await rows(app, VisitStatusChange)
    assert (history.from_status, history.to_status, history.actor_role) == (
        None,
        "requested",
        "patient",
    )
    [capacity] = await rows(app, DayCapacity)
    # Two nurses × 6 h × 75 % (travel reserved) = 540 minutes; 45 taken.
    assert (str(capacity.day), capacity.total_min, capacity.remaining_min) == (
        "2026-11-11",
        540,
        495,
    )
    # Pressing "send" again (an old message) books nothing more.
    press = await nai.press_forged(
        summary.buttons[0].callback_data or "", message_id=summary.message_id
    )
    assert await answer_of(nai, press) == t("id", "common.stale_button")
    assert await count(app, Visit) == 1
    await no_failures(app)


async def test_a_full_day_is_not_offered_and_a_forged_past_day_is_refused(
    app: HomecareApp, client: Any
) -> None:
    async with app.db.transaction() as session:
        session.add(
            DayCapacity(clinic_id=app.clinic_id, day=TUESDAY, total_min=540, remaining_min=30)
        )
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/minta_kunjungan")
    await last(nai)
    await nai.press("Perawatan luka")  # needs 45 minutes; Tuesday has 30 left
    await no_danger_signs(nai)
    await nai.send("Luka bakar")
    days = await last(nai)
    assert "Sel 10 Nov" not in days.button_texts and "Rab 11 Nov" in days.button_texts
    nonce = (days.buttons[0].callback_data or "").split(":")[1]
    account = await account_of(app, nai.id)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    for data, expected in (
        (f"pc:{nonce}:d:20261110", "booking.refused.no_capacity"),
        (f"pc:{nonce}:d:20261101", "booking.refused.past"),
        (f"pc:{nonce}:d:20261115", "booking.refused.sunday"),
        (f"pc:{nonce}:d:20261225", "booking.refused.holiday"),
        (f"pc:{nonce}:d:20261399", "common.stale_button"),
        (f"pc:{nonce}:w:0", "common.stale_button"),
    ):
        press = await nai.press_forged(data)
        answer = await answer_of(nai, press)
        assert answer.split("(")[0] == t("id", expected, holiday="").split("(")[0], data
    [after] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (after.step, after.nonce, after.updated_at) == (
        before.step,
        before.nonce,
        before.updated_at,
    )
    assert await count(app, Visit) == 0
    await no_failures(app)


async def test_long_complaint_text_and_media_are_refused_without_change(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/minta_kunjungan")
    await last(nai)
    await nai.press("Perawatan lansia")
    danger = await last(nai)
    account = await account_of(app, nai.id)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    await nai.send("mungkin")  # text where a button is expected, naming none of them
    again = await last(nai)
    assert again.plain_text.startswith(t("id", "patient.press_button"))
    assert again.button_texts == danger.button_texts  # the same question, asked again
    [same] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (same.step, same.nonce, same.updated_at) == (
        before.step,
        before.nonce,
        before.updated_at,
    )
    await nai.press("Tidak ada", message_id=again.message_id)
    await last(nai)  # complaint question
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    await nai.send("x" * 4000)
    too_long = await last(nai)
    assert too_long.plain_text.startswith(t("id", "invalid.text.too_long"))
    await nai.send_voice()
    voice = await last(nai)
    assert voice.plain_text.startswith(t("id", "common.media_not_expected"))
    await nai.share_location(-5.15, 119.44)
    await last(nai)
    [same] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (same.step, same.nonce, same.data, same.updated_at) == (
        before.step,
        before.nonce,
        before.data,
        before.updated_at,
    )
    await nai.send("Kaki bengkak sejak kemarin")
    days = await last(nai)
    assert days.plain_text == "Pilih hari kunjungan:"
    await no_failures(app)


# --- my visits: cancel, reschedule -----------------------------------------------------------


async def test_cancel_with_a_reason_gives_the_place_back_and_tells_the_head(
    app: HomecareApp, client: Any
) -> None:
    kepala = await head_user(client)
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)
    await nai.send("/kunjungan_saya")
    listing = await last(nai)
    [visit] = await rows(app, Visit)
    code = f"{visit.code[:3]}-{visit.code[3:]}"
    assert "Kunjungan mendatang" in listing.plain_text
    assert "Status: Menunggu jadwal perawat" in listing.plain_text
    assert listing.button_texts == [f"📅 Ubah {code}", f"✖ Batalkan {code}", "✖ Tutup"]
    await nai.press(f"✖ Batalkan {code}")
    ask = await last(nai)
    assert ask.button_texts == [
        "Sudah membaik",
        "Ada keperluan lain",
        "Dirawat di rumah sakit",
        "Jangan batalkan",
    ]
    await nai.send("Anak saya yang antar ke puskesmas")
    done = await last(nai)
    assert done.plain_text == f"Kunjungan {code} dibatalkan. Petugas puskesmas sudah diberi tahu."
    [visit] = await rows(app, Visit)
    assert (visit.status, visit.cancel_reason, visit.capacity_min) == (
        "cancelled_by_patient",
        "Anak saya yang antar ke puskesmas",
        0,
    )
    changes = await rows(app, VisitStatusChange)
    assert [(c.from_status, c.to_status, c.actor_role) for c in changes] == [
        (None, "requested", "patient"),
        ("requested", "cancelled_by_patient", "patient"),
    ]
    [capacity] = await rows(app, DayCapacity)
    assert capacity.remaining_min == capacity.total_min
    note = await kepala.wait_message()
    assert f"Kunjungan {code} (Daeng Nai)" in note.plain_text and "dibatalkan" in note.plain_text
    assert "Alasan: Anak saya yang antar ke puskesmas" in note.plain_text
    # Listed as past now, in plain words, with nothing to press.
    await nai.send("/kunjungan_saya")
    past = await last(nai)
    assert "Kunjungan sebelumnya" in past.plain_text
    assert "Status: Dibatalkan oleh keluarga" in past.plain_text
    assert past.buttons == []
    await no_failures(app)


async def test_cancel_after_the_cutoff_is_refused(
    app: HomecareApp, client: Any, clock: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)  # Tuesday 08:00–10:00: the cut-off is Monday 20:00
    clock.move_to(NOW + timedelta(hours=10, minutes=58))  # Monday 19:58
    await nai.send("/kunjungan_saya")
    listing = await last(nai)
    assert listing.button_texts[1].startswith("✖ Batalkan")
    clock.move_to(NOW + timedelta(hours=11, minutes=1))  # Monday 20:01: the route is fixed
    press = await nai.press(listing.buttons[1].text)
    assert await answer_of(nai, press) == t(
        "id", "patient.visits.too_late", phone=app.config.clinic.phone
    )
    [visit] = await rows(app, Visit)
    assert visit.status == "requested"
    await nai.send("/kunjungan_saya")
    late = await last(nai)
    assert late.buttons == []
    assert "perubahan hanya lewat telepon" in late.plain_text
    await no_failures(app)


async def test_reschedule_moves_the_capacity_and_tells_the_head_and_the_nurse(
    app: HomecareApp, client: Any
) -> None:
    kepala = await head_user(client)
    siti = await client.user("siti", user_id=NURSE_USER_ID, started=True)
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)  # Tuesday 08:00–10:00
    # The planner gave it to the nurse (status scheduled) meanwhile.
    async with app.db.transaction() as session:
        [visit] = list(await session.scalars(select(Visit)))
        nurse = (
            await session.scalars(
                select(Nurse)
                .join(Account, Account.id == Nurse.account_id)
                .where(Account.telegram_user_id == NURSE_USER_ID)
            )
        ).one()
        await change_status(session, visit, VisitStatus.SCHEDULED, Actor.SYSTEM, None, "plan", NOW)
        visit.nurse_id = nurse.id
    await nai.send("/kunjungan_saya")
    listing = await last(nai)
    assert "Status: Terjadwal" in listing.plain_text
    assert "Perawat: Perawat 1" in listing.plain_text
    await nai.press(listing.buttons[0].text)  # Ubah
    days = await last(nai)
    assert "Pindahkan kunjungan" in days.plain_text
    await nai.press("Kam 12 Nov")
    await last(nai)
    await nai.press("12:00–14:00")
    summary = await last(nai)
    assert "dari Selasa, 10 November 2026, jam 08:00–10:00" in summary.plain_text
    assert "ke Kamis, 12 November 2026, jam 12:00–14:00" in summary.plain_text
    await nai.press("✅ Ya, pindahkan")
    moved = await last(nai)
    assert "diubah ke Kamis, 12 November 2026, jam 12:00–14:00" in moved.plain_text
    [visit] = await rows(app, Visit)
    assert (str(visit.day), f"{visit.window_start:%H:%M}", visit.status, visit.nurse_id) == (
        "2026-11-12",
        "12:00",
        "requested",
        None,
    )
    capacity = {str(c.day): c.remaining_min for c in await rows(app, DayCapacity)}
    assert capacity == {"2026-11-10": 540, "2026-11-12": 495}
    history = [
        (c.from_status, c.to_status, c.actor_role) for c in await rows(app, VisitStatusChange)
    ]
    # back to the queue, then the reschedule itself (a row that keeps the status)
    assert history[-2:] == [
        ("scheduled", "requested", "patient"),
        ("requested", "requested", "patient"),
    ]
    for staff in (kepala, siti):
        note = await staff.wait_message()
        assert "dipindah dari Selasa, 10 November 2026" in note.plain_text
    await no_failures(app)


async def test_reschedule_a_requested_visit_to_another_window_the_same_day(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)  # Tuesday 08:00–10:00
    await nai.send("/kunjungan_saya")
    listing = await last(nai)
    await nai.press(listing.buttons[0].text)
    await last(nai)
    await nai.press("Sel 10 Nov")
    windows = await last(nai)
    # The same slot is refused; another window of the same day is fine.
    press = await nai.press("08:00–10:00", message_id=windows.message_id)
    assert await answer_of(nai, press) == t("id", "patient.visits.same_slot")
    await nai.press("10:00–12:00", message_id=windows.message_id)
    await last(nai)
    await nai.press("✅ Ya, pindahkan")
    await last(nai)
    [visit] = await rows(app, Visit)
    assert (str(visit.day), f"{visit.window_start:%H:%M}", visit.status) == (
        "2026-11-10",
        "10:00",
        "requested",
    )
    # An edit of a requested visit: no status change (one row telling the move), and the day's
    # minutes are unchanged.
    history = await rows(app, VisitStatusChange)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "requested"),
        ("requested", "requested"),
    ]
    assert history[1].detail == {
        "event": "moved",
        "from": {"day": "2026-11-10", "window": "08:00-10:00"},
        "to": {"day": "2026-11-10", "window": "10:00-12:00"},
    }
    [capacity] = await rows(app, DayCapacity)
    assert capacity.remaining_min == capacity.total_min - 45
    await no_failures(app)


async def test_a_visit_the_planner_could_not_place_moves_to_another_day_from_its_button(
    app: HomecareApp, client: Any, clock: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)  # Tuesday 08:00–10:00
    clock.move_to(NOW + timedelta(hours=12))  # Monday 21:00, past the cut-off for Tuesday
    async with app.db.transaction() as session:
        [visit] = list(await session.scalars(select(Visit)))
        await change_status(session, visit, VisitStatus.UNPLACED, Actor.SYSTEM, None, "full", NOW)
        # The planner's note to the family carries the family journey's "another day" button.
        note = Reply(
            "Tidak dapat dijadwalkan.", buttons=((other_day_button(Translator("id"), visit.id),),)
        )
        await outbox.queue(
            session, chat_id=nai.id, method="sendMessage", payload=to_payload(nai.id, note)
        )
    app.relay.wake()
    unplaced = await last(nai)
    assert unplaced.button_texts == ["📅 Pilih hari lain"]
    await nai.press("📅 Pilih hari lain")
    days = await last(nai)
    assert "Pindahkan kunjungan" in days.plain_text
    assert days.button_texts[0] == "Rab 11 Nov"  # planning for Tuesday has run
    await nai.press("Rab 11 Nov")
    await last(nai)
    await nai.press("08:00–10:00")
    await last(nai)
    await nai.press("✅ Ya, pindahkan")
    moved = await last(nai)
    assert "diubah ke Rabu, 11 November 2026" in moved.plain_text
    [visit] = await rows(app, Visit)
    assert (visit.status, str(visit.day), visit.capacity_min) == ("requested", "2026-11-11", 45)
    capacity = {str(c.day): c.remaining_min for c in await rows(app, DayCapacity)}
    assert capacity == {"2026-11-10": 540, "2026-11-11": 495}
    # The button of someone else's visit, or a finished one, starts nothing.
    eva = await user(client, "eva")
    await register_self(eva, name="Eva Lestari")
    press = await eva.press_forged(f"pr:{visit.id}")
    assert await answer_of(eva, press) == t("id", "common.not_your_button")
    await no_failures(app)


async def test_someone_elses_visit_cannot_be_cancelled_with_a_forged_button(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai, name="Daeng Nai")
    await book(nai)
    eva = await user(client, "eva")
    await register_self(eva, name="Eva Lestari")
    await book(eva, day_index=2)
    visits = {v.patient_id: v for v in await rows(app, Visit)}
    nai_patient = (await rows(app, Patient, Patient.full_name == "Daeng Nai"))[0]
    await eva.send("/kunjungan_saya")
    listing = await last(eva)
    _, nonce, _, _own = (listing.buttons[1].callback_data or "").split(":")
    press = await eva.press_forged(f"pc:{nonce}:x:{visits[nai_patient.id].id}")
    assert await answer_of(eva, press) == t("id", "common.not_your_button")
    for data in (f"pc:{nonce}:x:abc", f"pc:{nonce}:x", "pc:zzzzzz:x:1", "pf:1:9", "xyz"):
        press = await eva.press_forged(data)
        assert await answer_of(eva, press) == t("id", "common.stale_button"), data
    # "Book now" for a patient who is not hers, and a rating of a visit that is not hers.
    for data in (f"pn:{nai_patient.id}", f"pf:{visits[nai_patient.id].id}:5"):
        press = await eva.press_forged(data)
        assert await answer_of(eva, press) == t("id", "common.not_your_button"), data
    assert {v.status for v in await rows(app, Visit)} == {"requested"}
    await no_failures(app)
