"""Story tests of the family journey: feedback, data rights, language and conversation state.

Time stands at Monday 9 Nov 2026, 09:00 WITA (tests.patient.helpers.NOW); the clinic has two
nurses (08:00–14:00) and a head whose Telegram chat receives the staff notes.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from bot.i18n import t
from db.models import (
    AccountRole,
    Consent,
    Conversation,
    Feedback,
    Patient,
    PatientLink,
    Visit,
)
from db.services import conversation as conversation_service
from db.services.feedback import queue_feedback_request
from db.services.visit_status import change_status
from scheduler.visits import Actor, VisitStatus
from tests.patient.helpers import (
    HEAD_USER_ID,
    NIK_1950_MALE,
    NOW,
    answer_of,
    book,
    count,
    expect,
    failed_updates,
    last,
    no_danger_signs,
    register_self,
    seed_staff,
    user,
)
from tests.patient.story_helpers import account_of, head_user, no_failures, rows

# --- after the visit -------------------------------------------------------------------------


async def test_feedback_after_the_visit_rating_and_comment(app: HomecareApp, client: Any) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)
    async with app.db.transaction() as session:
        [visit] = list(await session.scalars(select(Visit)))
        for target, actor in (
            (VisitStatus.SCHEDULED, Actor.SYSTEM),
            (VisitStatus.ARRIVED, Actor.NURSE),
            (VisitStatus.COMPLETED, Actor.NURSE),
        ):
            await change_status(session, visit, target, actor, None, None, NOW)
        assert await queue_feedback_request(session, visit, NOW) == 1
        assert await queue_feedback_request(session, visit, NOW) == 0  # asked once
    app.relay.wake()
    request = await last(nai)
    assert "Bagaimana kunjungan perawat pada Selasa, 10 November 2026" in request.plain_text
    assert request.button_texts == ["1", "2", "3", "4", "5"]
    await nai.press("5")
    comment = await last(nai)
    assert comment.plain_text.startswith("Terima kasih atas penilaian Anda (5/5).")
    await nai.send("Perawatnya ramah & sabar")
    thanks = await last(nai)
    assert thanks.plain_text == t("id", "patient.feedback.comment_thanks")
    [feedback] = await rows(app, Feedback)
    assert (feedback.rating, feedback.comment) == (5, "Perawatnya ramah & sabar")
    # A second rating of the same visit is refused.
    press = await nai.press_forged(
        request.buttons[0].callback_data or "", message_id=request.message_id
    )
    assert await answer_of(nai, press) == t("id", "patient.feedback.already")
    assert [f.rating for f in await rows(app, Feedback)] == [5]
    await no_failures(app)


# --- data rights -----------------------------------------------------------------------------


async def test_data_export_sends_a_readable_document_and_json(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai, complaint="Luka <b>di</b> kaki")
    await nai.send("/data_saya")
    menu = await last(nai)
    assert menu.button_texts == [
        "📄 Lihat semua data saya",
        "✏️ Perbaiki data",
        "🗑 Hapus data saya",
        "✖ Tutup",
    ]
    await nai.press("📄 Lihat semua data saya")
    readable, machine = await expect(nai, 2)
    assert readable.document is not None and (readable.document.file_name or "").endswith(".txt")
    assert machine.document is not None and (machine.document.file_name or "").endswith(".json")
    text = (await nai.file_bytes(readable.document)).decode("utf-8")
    assert "PASIEN: Daeng Nai (self)" in text
    assert f"NIK: {NIK_1950_MALE}" in text
    assert "Keluhan: Luka <b>di</b> kaki" in text
    assert "PERSETUJUAN" in text
    data = json.loads(await nai.file_bytes(machine.document))
    [patient] = data["patients"]
    assert patient["phone"].startswith("+62812")
    assert [v["status"] for v in patient["visits"]] == ["requested"]
    assert patient["visits"][0]["history"][0]["to"] == "requested"
    assert len(data["consents"]) == 2
    await no_failures(app)


async def test_correcting_a_profile_field(app: HomecareApp, client: Any) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/data_saya")
    await last(nai)
    await nai.press("✏️ Perbaiki data")
    fields = await last(nai)
    assert "Nama: Daeng Nai" in fields.plain_text
    await nai.press("RT/RW")
    await last(nai)
    await nai.send("RT 7 RW 2")
    fixed = await last(nai)
    assert fixed.plain_text == "Sudah diperbaiki ✓"
    await nai.send("/data_saya")
    await last(nai)
    await nai.press("✏️ Perbaiki data")
    await last(nai)
    await nai.press("Tanggal lahir")
    await last(nai)
    # The stored NIK encodes 17-08-1950: another birth date would contradict it.
    await nai.send("18-08-1950")
    refused = await last(nai)
    assert refused.plain_text.startswith(t("id", "invalid.nik.birth_date_mismatch"))
    # The kelurahan is chosen from the list; the location is shared, or removed with "Lewati".
    await nai.send("/data_saya")
    await last(nai)
    await nai.press("✏️ Perbaiki data")
    await last(nai)
    await nai.press("Kelurahan")
    await last(nai)
    await nai.press("Buakana")
    assert (await last(nai)).plain_text == "Sudah diperbaiki ✓"
    await nai.send("/data_saya")
    await last(nai)
    await nai.press("✏️ Perbaiki data")
    await last(nai)
    await nai.press("Lokasi")
    where = await last(nai)
    assert where.reply_buttons[0].request_location
    await nai.press_reply("Lewati")
    assert (await last(nai)).plain_text == "Sudah diperbaiki ✓"
    [patient] = await rows(app, Patient)
    assert (patient.rt_rw, str(patient.birth_date), patient.kelurahan) == (
        "007/002",
        "1950-08-17",
        "Buakana",
    )
    assert (patient.lat, patient.lon) == (None, None)
    assert patient.updated_at is not None
    await no_failures(app)


async def test_staff_may_export_their_data_but_not_delete_it_in_the_bot(
    app: HomecareApp, client: Any
) -> None:
    kepala = await head_user(client)
    await kepala.send("/data_saya")
    menu = await last(kepala)
    assert menu.button_texts == ["📄 Lihat semua data saya", "✖ Tutup"]
    await kepala.press("📄 Lihat semua data saya")
    readable, _ = await expect(kepala, 2)
    assert readable.document is not None
    text = (await kepala.file_bytes(readable.document)).decode("utf-8")
    assert f"Telegram ID: {HEAD_USER_ID}" in text
    await no_failures(app)


async def test_deletion_request_removes_identity_keeps_logistics_and_stops_processing(
    app: HomecareApp, client: Any
) -> None:
    kepala = await head_user(client)
    nai = await user(client, "nai")
    await register_self(nai)
    await book(nai)
    await nai.send("/data_saya")
    await last(nai)
    await nai.press("🗑 Hapus data saya")
    ask = await last(nai)
    assert "rekam medis 5 tahun" in ask.plain_text
    await nai.press("🗑 Ya, hapus")
    done = await last(nai)
    assert "identitas 1 pasien dihapus, 1 kunjungan dibatalkan" in done.plain_text
    assert "Yang tetap disimpan tanpa nama" in done.plain_text
    [patient] = await rows(app, Patient)
    assert patient.deleted_at is not None
    assert (patient.full_name, patient.phone, patient.nik, patient.address, patient.lat) == (
        None,
        None,
        None,
        None,
        None,
    )
    assert patient.kelurahan == "Karunrung"  # area statistics only
    [visit] = await rows(app, Visit)
    assert (visit.status, visit.complaint, str(visit.day)) == (
        "cancelled_by_patient",
        None,
        "2026-11-10",
    )
    account = await account_of(app, nai.id)
    assert account.deleted_at is not None and account.first_name == ""
    assert await rows(app, AccountRole, AccountRole.account_id == account.id) == []
    assert all(c.withdrawn_at is not None for c in await rows(app, Consent))
    assert all(lk.revoked_at is not None for lk in await rows(app, PatientLink))
    note = await kepala.wait_message()
    assert "(data dihapus)" in note.plain_text and "Daeng" not in note.plain_text
    # Processing has stopped: commands are answered politely and change nothing.
    await nai.send("/kunjungan_saya")
    polite = await last(nai)
    assert polite.plain_text == t("id", "common.after_deletion")
    await nai.send("/start")  # /start is handled: it offers to register anew
    again = await last(nai)
    assert "Persetujuan penggunaan data" in again.plain_text
    assert await rows(app, Conversation, Conversation.account_id == account.id) != []
    await no_failures(app)


# --- language --------------------------------------------------------------------------------


async def test_language_switch_carries_through_the_journey(app: HomecareApp, client: Any) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/bahasa")
    await last(nai)
    await nai.press("English")
    await last(nai)
    await nai.send("/minta_kunjungan")
    services = await last(nai)
    assert services.plain_text == "Which nursing service is needed for you?"
    assert services.button_texts[0] == "Wound care"
    await nai.press("Wound care")
    question = await last(nai)
    assert "Right now, is any of these true for you?" in question.plain_text
    assert "• Severe shortness of breath\n• Chest pain" in question.plain_text
    await nai.press("None of these")
    await last(nai)
    await nai.send("Wound on the leg")
    days = await last(nai)
    assert days.button_texts[:2] == ["⚡ Earliest: Tue 10 Nov, 08:00–10:00", "Tue 10 Nov"]
    await nai.press("Tue 10 Nov")
    await last(nai)
    await nai.press("08:00–10:00")
    await last(nai)
    await nai.press("✅ Send request")
    done = await last(nai)
    assert "Request received." in done.plain_text
    assert "Tuesday, 10 November 2026, 08:00–10:00" in done.plain_text
    await nai.send("halo")
    assert (await last(nai)).plain_text == t("en", "common.not_understood")
    await no_failures(app)


# --- conversation state ----------------------------------------------------------------------


async def test_restart_mid_booking_continues_where_the_person_was(
    config: Any, database: Any, client: Any, clock: Any
) -> None:
    first = build_application(config, db=database)
    first.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await first.start()
    await seed_staff(first)
    nai = await user(client, "nai")
    try:
        await register_self(nai)
        await nai.send("/minta_kunjungan")
        await last(nai)
        await nai.press("Perawatan luka")
        await no_danger_signs(nai)  # now at the complaint question
    finally:
        await first.stop()
    # A message arrives while the bot is down; a new process on the same database picks it up.
    await nai.send("Luka di tumit")
    second = build_application(config, db=database)
    second.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await second.start()
    try:
        days = await last(nai)
        if days.plain_text.startswith("Ceritakan singkat keluhannya"):
            # The complaint question was being sent when the first process stopped: the relay
            # sends such a message once more rather than risk losing it.
            days = await last(nai)
        assert days.plain_text == "Pilih hari kunjungan:"
        await nai.press(days.buttons[1].text)
        await last(nai)
        await nai.press("08:00–10:00")
        await last(nai)
        await nai.press("✅ Kirim permintaan")
        done = await last(nai)
        assert "Permintaan diterima" in done.plain_text
        [visit] = await rows(second, Visit)
        assert visit.complaint == "Luka di tumit"
        assert await failed_updates(second) == []
    finally:
        await second.stop()


async def test_an_idle_conversation_ends_with_a_message(
    app: HomecareApp, client: Any, clock: Any
) -> None:
    nai = await user(client, "nai")
    await register_self(nai)
    await nai.send("/minta_kunjungan")
    services = await last(nai)
    # Lazily: the next message after the idle time ends the conversation and says so.
    clock.move_to(NOW + timedelta(minutes=31))
    await nai.send("Perawatan luka")
    ended = await last(nai)
    assert ended.plain_text == t("id", "patient.expired")
    account = await account_of(app, nai.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    press = await nai.press_forged(services.buttons[0].callback_data or "")
    assert await answer_of(nai, press) == t("id", "common.stale_button")
    # By the job: idle conversations end with the same message; fresh ones stay.
    await nai.send("/minta_kunjungan")
    await last(nai)
    eva = await user(client, "eva")
    await register_self(eva)
    await eva.send("/minta_kunjungan")
    await last(eva)
    later = NOW + timedelta(minutes=31 + 31)
    ended_count = await conversation_service.expire_idle_conversations(
        app.db, later, idle_min=app.config.schedule.conversation_idle_min
    )
    assert ended_count == 2
    app.relay.wake()
    assert (await last(nai)).plain_text == t("id", "patient.expired")
    assert (await last(eva)).plain_text == t("id", "patient.expired")
    assert await count(app, Conversation) == 0
    # Running the job again changes nothing and sends nothing.
    assert await conversation_service.expire_idle_conversations(app.db, later, idle_min=30) == 0
    await no_failures(app)
