"""Story tests of the family journey: the real app (build_application) on the sandbox, over HTTP.

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
from bot.i18n import Translator, t
from bot.messages import Reply, to_payload
from bot.render.patient import other_day_button
from db.models import (
    Account,
    AccountRole,
    Consent,
    Conversation,
    DayCapacity,
    EmergencyReferral,
    Feedback,
    Nurse,
    Patient,
    PatientLink,
    StaffTask,
    Visit,
    VisitStatusChange,
)
from db.services import conversation as conversation_service
from db.services import outbox
from db.services.consent import text_hash
from db.services.feedback import queue_feedback_request
from db.services.visit_status import change_status
from scheduler.visits import Actor, VisitStatus
from tests.patient.helpers import (
    HEAD_USER_ID,
    NIK_1950_MALE,
    NOW,
    NURSE_USER_ID,
    TUESDAY,
    answer_of,
    book,
    count,
    expect,
    failed_updates,
    fill_profile,
    last,
    no_danger_signs,
    register_family_member,
    register_self,
    seed_staff,
    user,
)


async def rows(hc: HomecareApp, model: Any, *where: Any) -> list[Any]:
    async with hc.db.read() as session:
        return list(await session.scalars(select(model).where(*where)))


async def account_of(hc: HomecareApp, telegram_id: int) -> Account:
    [account] = await rows(hc, Account, Account.telegram_user_id == telegram_id)
    return account


async def head_user(client: Any) -> Any:
    return await client.user("kepala", user_id=HEAD_USER_ID, started=True)


async def no_failures(hc: HomecareApp) -> None:
    assert await failed_updates(hc) == []


# --- consent ---------------------------------------------------------------------------------


async def test_consent_refused_stores_nothing_and_says_how_to_get_care(
    app: HomecareApp, client: Any
) -> None:
    ani = await user(client, "ani")
    await ani.send("/start")
    consent = await last(ani)
    # One message: the welcome, then the consent text with its two buttons.
    assert consent.plain_text.startswith("Selamat datang di Puskesmas Kassi-Kassi")
    assert "Persetujuan penggunaan data" in consent.plain_text
    assert "versi 2026-11" in consent.plain_text
    assert consent.button_texts == ["✅ Setuju", "Tidak setuju"]
    await ani.press("Tidak setuju")
    refused = await last(ani)
    assert "Tidak ada data Anda yang kami simpan" in refused.plain_text
    assert app.config.clinic.phone in refused.plain_text
    assert "112 / 119" in refused.plain_text
    account = await account_of(app, ani.id)
    assert await rows(app, Consent, Consent.account_id == account.id) == []
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    assert await count(app, Patient) == 0
    assert await rows(app, AccountRole, AccountRole.account_id == account.id) == []
    # The consent buttons are dead now.
    press = await ani.press_forged(
        consent.buttons[0].callback_data or "", message_id=consent.message_id
    )
    assert await answer_of(ani, press) == t("id", "common.stale_button")
    assert await rows(app, Consent, Consent.account_id == account.id) == []
    await no_failures(app)


# --- registration ----------------------------------------------------------------------------


async def test_full_registration_stores_a_normalised_profile_with_consent(
    app: HomecareApp, client: Any
) -> None:
    nai = await user(client, "nai")
    await nai.send("/start")
    consent = await last(nai)
    await nai.press("✅ Setuju")
    who = await last(nai)
    assert who.button_texts == ["👤 Untuk saya sendiri", "👪 Untuk anggota keluarga", "✖ Batal"]
    await nai.press("👤 Untuk saya sendiri")
    await fill_profile(
        nai,
        name="Hj. Daeng  Nai",
        nik="7371 1017 0850 0001",
        kelurahan="Karunrung",
        location=True,
        typed_phone="0812-3456-7890",
    )
    summary = await last(nai)
    assert "Nama: Hj. Daeng Nai" in summary.plain_text
    assert "HP: +6281234567890" in summary.plain_text
    assert "Tanggal lahir: Kamis, 17 Agustus 1950" in summary.plain_text
    assert "RT/RW 003/005, Kel. Karunrung" in summary.plain_text
    await nai.press("✅ Benar, simpan")
    saved = await last(nai)
    assert saved.plain_text == "Terima kasih, data Anda tersimpan ✓"
    assert saved.button_texts == ["🏠 Minta kunjungan sekarang"]

    account = await account_of(app, nai.id)
    [patient] = await rows(app, Patient)
    assert (patient.full_name, patient.phone, patient.nik, patient.sex) == (
        "Hj. Daeng Nai",
        "+6281234567890",
        NIK_1950_MALE,
        "M",
    )
    assert str(patient.birth_date) == "1950-08-17"
    assert (patient.address, patient.kelurahan, patient.rt_rw, patient.landmark) == (
        "Jl. Tamalate I No. 12",
        "Karunrung",
        "003/005",
        "depan masjid, pagar hijau",
    )
    assert (patient.lat, patient.lon) == (-5.1601, 119.448)
    [link] = await rows(app, PatientLink)
    assert (link.account_id, link.relation) == (account.id, "self")
    consents = await rows(app, Consent, Consent.account_id == account.id)
    assert sorted((c.patient_id is None, c.text_version) for c in consents) == [
        (False, "2026-11"),
        (True, "2026-11"),
    ]
    # The stored hash is the hash of exactly the consent text the person was shown.
    shown = consent.text or ""
    consent_part = shown[shown.index("<b>Persetujuan") :]
    assert {c.text_hash for c in consents} == {text_hash(consent_part)}
    assert {r.role for r in await rows(app, AccountRole, AccountRole.account_id == account.id)} == {
        "patient"
    }
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    # "Request a visit now" starts the booking for this patient.
    await nai.press("🏠 Minta kunjungan sekarang")
    services = await last(nai)
    assert services.plain_text == "Layanan perawat apa yang dibutuhkan untuk Anda?"
    await no_failures(app)


async def test_bad_registration_answers_are_explained_and_change_nothing(
    app: HomecareApp, client: Any
) -> None:
    ida = await user(client, "ida")
    await ida.send("/start")
    await last(ida)
    await ida.press("✅ Setuju")
    await last(ida)
    await ida.press("👤 Untuk saya sendiri")
    await last(ida)
    account = await account_of(app, ida.id)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)

    async def refused(action: Any, expected: str) -> None:
        await action
        reply = await last(ida)
        assert reply.plain_text.startswith(expected), reply.plain_text
        [now] = await rows(app, Conversation, Conversation.account_id == account.id)
        assert (now.step, now.nonce, now.data, now.updated_at) == (
            before.step,
            before.nonce,
            before.data,
            before.updated_at,
        )

    await refused(ida.send("R2-D2 <script>"), t("id", "invalid.name.bad_chars"))
    await refused(ida.send_photo(), t("id", "common.media_not_expected"))
    await refused(ida.send_sticker(), t("id", "common.media_not_expected"))
    await ida.send("Ida Ayu")
    phone = await last(ida)
    assert phone.reply_buttons[0].request_contact
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    await refused(ida.send("+1 555 0100"), t("id", "invalid.phone.not_indonesian"))
    await refused(ida.send_voice(), t("id", "common.media_not_expected"))
    await ida.send("081234567891")
    await last(ida)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    await refused(ida.send("17-08-2090"), t("id", "invalid.birth_date.future"))
    await refused(ida.send("kemarin"), t("id", "invalid.birth_date.format"))
    await ida.send("17 Agustus 1950")
    await last(ida)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    # A NIK whose encoded birth date is not the one given; then one of the wrong length.
    await refused(ida.send("7371101808500001"), t("id", "invalid.nik.birth_date_mismatch"))
    await refused(ida.send("12345"), t("id", "invalid.nik.length"))
    await ida.send("7371105708500002")  # a woman's NIK (day + 40) for 17-08-1950
    await last(ida)
    await ida.send("Jl. Tidung 7")
    kel = await last(ida)
    [before] = await rows(app, Conversation, Conversation.account_id == account.id)
    await refused(ida.send("Kelurahan saya dekat pasar"), t("id", "patient.press_button"))
    # A forged kelurahan index: answered, nothing changes.
    nonce = (kel.buttons[0].callback_data or "").split(":")[1]
    press = await ida.press_forged(f"pc:{nonce}:k:99")
    assert await answer_of(ida, press) == t("id", "common.stale_button")
    # Typing a kelurahan of the list exactly is accepted.
    await ida.send("tidung")
    await last(ida)
    [after] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (after.step, after.data["kel"]) == ("rtrw", "Tidung")
    assert after.data["sex"] == "F"
    assert await count(app, Patient) == 0
    await no_failures(app)


async def test_address_outside_the_service_area_is_not_stored_and_cannot_book(
    app: HomecareApp, client: Any
) -> None:
    ola = await user(client, "ola")
    await ola.send("/start")
    await last(ola)
    await ola.press("✅ Setuju")
    await last(ola)
    await ola.press("👤 Untuk saya sendiri")
    await last(ola)
    await ola.send("Ola Sitorus")
    await last(ola)
    await ola.send("0813 1111 2222")
    await last(ola)
    await ola.send("01-02-1960")
    nik = await last(ola)
    await ola.press(nik.buttons[0].text)  # Lewati
    await last(ola)
    await ola.send("Jl. Perintis Kemerdekaan 10")
    kel = await last(ola)
    assert kel.button_texts[:6] == list(app.config.clinic.service_area)
    await ola.press("Kelurahan lain")
    told = await last(ola)
    assert "hanya untuk kelurahan: Kassi-Kassi, Karunrung" in told.plain_text
    assert "puskesmas di kelurahan atau kecamatan tempat tinggal Anda" in told.plain_text
    assert "Alamat ini tidak kami simpan" in told.plain_text
    assert await count(app, Patient) == 0
    account = await account_of(app, ola.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    # No booking is possible: asking for a visit leads back to registration, not to a service.
    await ola.send("/minta_kunjungan")
    again = await last(ola)
    assert again.plain_text == t("id", "patient.reg.who")
    assert await count(app, Visit) == 0
    await no_failures(app)


# --- caregivers ------------------------------------------------------------------------------


async def test_caregiver_with_two_patients_books_for_each(app: HomecareApp, client: Any) -> None:
    rina = await user(client, "rina")
    # A first request from a newcomer: consent, then registration, then the booking itself.
    await rina.send("/minta_kunjungan")
    consent = await last(rina)
    assert "Persetujuan penggunaan data" in consent.plain_text
    await rina.press("✅ Setuju")
    await last(rina)
    await rina.press("👪 Untuk anggota keluarga")
    await last(rina)
    await register_family_member(rina, "Ibu saya", "Siti Aminah", first=True)
    await rina.send("/pasien")
    listing = await last(rina)
    assert "• Ibu saya (Siti Aminah)" in listing.plain_text
    await rina.press("➕ Tambah pasien")
    await last(rina)
    await register_family_member(rina, "Bapak", "Andi Baso", first=False)

    mother = await book(rina, patient="Ibu saya (Siti Aminah)", complaint="Tensi tinggi")
    assert "Ibu saya (Siti Aminah) — Perawatan luka" in mother.plain_text
    father = await book(
        rina, patient="Bapak (Andi Baso)", service="Suntik/obat", day_index=1, window="10:00–12:00"
    )
    assert "Bapak (Andi Baso) — Suntik/obat" in father.plain_text

    account = await account_of(app, rina.id)
    links = await rows(app, PatientLink, PatientLink.account_id == account.id)
    assert sorted((lk.relation, lk.label) for lk in links) == [
        ("caregiver", "Bapak"),
        ("caregiver", "Ibu saya"),
    ]
    by_label = {lk.label: lk.patient_id for lk in links}
    visits = await rows(app, Visit)
    assert sorted((v.patient_id, v.service_type, str(v.day)) for v in visits) == sorted(
        [
            (by_label["Ibu saya"], "wound_care", "2026-11-10"),
            (by_label["Bapak"], "injection", "2026-11-11"),
        ]
    )
    # One consent per patient added, given by the caregiver on their behalf, plus her own.
    consents = await rows(app, Consent, Consent.account_id == account.id)
    assert sorted(c.patient_id or 0 for c in consents) == sorted([0, *by_label.values()])
    assert {r.role for r in await rows(app, AccountRole, AccountRole.account_id == account.id)} == {
        "caregiver"
    }
    # The other family's patient cannot be picked with a forged button.
    await rina.send("/minta_kunjungan")
    choose = await last(rina)
    nonce = (choose.buttons[0].callback_data or "").split(":")[1]
    press = await rina.press_forged(f"pc:{nonce}:p:999999")
    assert await answer_of(rina, press) == t("id", "common.not_your_button")
    await no_failures(app)


# --- danger signs ----------------------------------------------------------------------------


async def test_danger_sign_ends_with_emergency_message_no_booking_and_heads_alerted(
    app: HomecareApp, client: Any
) -> None:
    kepala = await head_user(client)
    nai = await user(client, "nai")
    await register_self(nai, name="Daeng Nai")
    await nai.send("/minta_kunjungan")
    await last(nai)
    await nai.press("Cek hipertensi/diabetes")
    first = await last(nai)
    assert "Pertanyaan keselamatan 1/5" in first.plain_text
    await nai.press("Tidak")
    second = await last(nai)
    assert "Nyeri dada?" in second.plain_text
    await nai.press("Ya")
    emergency = await last(nai)
    assert "Ini tanda bahaya" in emergency.plain_text
    assert "112 / 119" in emergency.plain_text
    assert app.config.clinic.phone in emergency.plain_text
    assert "Permintaan kunjungan tidak dibuat" in emergency.plain_text

    assert await count(app, Visit) == 0
    [referral] = await rows(app, EmergencyReferral)
    assert (referral.signs, referral.service_type) == (["chest_pain"], "chronic_check")
    [task] = await rows(app, StaffTask)
    assert task.kind == "emergency_followup" and task.patient_id == referral.patient_id
    alert = await kepala.wait_message()
    assert "Tanda bahaya dilaporkan" in alert.plain_text
    assert "Daeng Nai" in alert.plain_text and "+62812" in alert.plain_text
    assert "Tanda: Nyeri dada" in alert.plain_text
    # The conversation is over: the remaining danger buttons are dead.
    account = await account_of(app, nai.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    press = await nai.press_forged(second.buttons[1].callback_data or "")
    assert await answer_of(nai, press) == t("id", "common.stale_button")
    await no_failures(app)


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
    await nai.send("tidak")  # text where a button is expected
    again = await last(nai)
    assert again.plain_text.startswith(t("id", "patient.press_button"))
    assert again.button_texts == danger.button_texts  # the same question, asked again
    [same] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (same.step, same.nonce, same.updated_at) == (
        before.step,
        before.nonce,
        before.updated_at,
    )
    await nai.press("Tidak", message_id=again.message_id)
    for _ in range(4):
        question = await last(nai)
        await nai.press(question.buttons[1].text)
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
    assert listing.button_texts == [f"📅 Ubah {code}", f"✖ Batalkan {code}", "✖ Batal"]
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
    assert history[-1] == ("scheduled", "requested", "patient")
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
    # An edit of a requested visit: no status change, and the day's minutes are unchanged.
    assert len(await rows(app, VisitStatusChange)) == 1
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
        "✖ Batal",
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
    assert menu.button_texts == ["📄 Lihat semua data saya", "✖ Batal"]
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
    # Processing has stopped: commands get no answer and change nothing.
    await nai.send("/kunjungan_saya")
    await nai.send("/start")  # /start alone is answered: it offers to register anew
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
    assert "Safety question 1/5" in question.plain_text
    assert "Severe shortness of breath?" in question.plain_text
    for _ in range(5):
        q = await nai.last_message()
        assert q is not None
        await nai.press("No", message_id=q.message_id)
        await last(nai)
    await nai.send("Wound on the leg")
    days = await last(nai)
    assert days.button_texts[0] == "Tue 10 Nov"
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
        await nai.press(days.buttons[0].text)
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
