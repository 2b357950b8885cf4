"""Story tests of the family journey, first steps: consent, registration, caregivers, danger signs.

Time stands at Monday 9 Nov 2026, 09:00 WITA (tests.patient.helpers.NOW); the clinic has two
nurses (08:00–14:00) and a head whose Telegram chat receives the staff notes.
"""

from __future__ import annotations

from typing import Any

from bot.app import HomecareApp
from bot.i18n import t
from db.models import (
    AccountRole,
    Consent,
    Conversation,
    EmergencyReferral,
    Patient,
    PatientLink,
    StaffTask,
    Visit,
)
from db.services.consent import text_hash
from tests.patient.helpers import (
    NIK_1950_MALE,
    answer_of,
    book,
    count,
    expect,
    fill_profile,
    last,
    register_family_member,
    register_self,
    user,
)
from tests.patient.story_helpers import account_of, head_user, no_failures, rows

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
    # Agreeing also says for whom: one tap less than asking it after.
    assert consent.button_texts == [
        "✅ Setuju — untuk saya sendiri",
        "✅ Setuju — untuk keluarga saya",
        "Tidak setuju",
    ]
    await ani.press("Tidak setuju")
    refused = await last(ani)
    # It says exactly what is kept: the account row the bot needs to answer, nothing else.
    assert "Yang tercatat hanya nomor akun Telegram" in refused.plain_text
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
    await nai.press("✅ Setuju — untuk saya sendiri")
    await fill_profile(
        nai,
        name="Hj. Daeng  Nai",
        nik="7371 1017 0850 0001",
        kelurahan="Karunrung",
        location=True,
        typed_phone="0812-3456-7890",
    )
    # Saved at once after the last answer; the message shows what was stored (the birth date
    # read from the NIK) and how to change one field; the visit request follows.
    saved, services = await expect(nai, 2)
    assert saved.plain_text.startswith("Terima kasih, data Anda tersimpan ✓")
    assert "Nama: Hj. Daeng Nai" in saved.plain_text
    assert "HP: +6281234567890" in saved.plain_text
    assert "Tanggal lahir: Kamis, 17 Agustus 1950" in saved.plain_text
    assert "RT/RW 003/005, Kel. Karunrung" in saved.plain_text
    assert "Patokan: depan masjid, pagar hijau" in saved.plain_text
    assert saved.plain_text.endswith(t("id", "patient.reg.saved_edit"))
    assert services.plain_text == "Layanan perawat apa yang dibutuhkan untuk Anda?"

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
    [booking] = await rows(app, Conversation, Conversation.account_id == account.id)
    assert (booking.flow, booking.step) == ("p.book", "service")
    await no_failures(app)


async def test_bad_registration_answers_are_explained_and_change_nothing(
    app: HomecareApp, client: Any
) -> None:
    ida = await user(client, "ida")
    await ida.send("/start")
    await last(ida)
    await ida.press("✅ Setuju — untuk saya sendiri")
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
    # A NIK of the wrong length; one whose date cannot be a birth date (day 32).
    await refused(ida.send("12345"), t("id", "invalid.nik.length"))
    await refused(ida.send("7371103208500001"), t("id", "invalid.nik.date"))
    await ida.send("7371105708500002")  # a woman's NIK (day + 40) for 17-08-1950
    await last(ida)
    # An address that names no kelurahan: the kelurahan is asked for.
    await ida.send("Jl. Perintis 7")
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
    assert (after.data["sex"], after.data["birth"]) == ("F", "1950-08-17")
    assert await count(app, Patient) == 0
    await no_failures(app)


async def test_address_outside_the_service_area_is_not_stored_and_cannot_book(
    app: HomecareApp, client: Any
) -> None:
    ola = await user(client, "ola")
    await ola.send("/start")
    await last(ola)
    await ola.press("✅ Setuju — untuk saya sendiri")
    await last(ola)
    await ola.send("Ola Sitorus")
    await last(ola)
    await ola.send("0813 1111 2222")
    nik = await last(ola)
    await ola.press(nik.buttons[0].text)  # Lewati: then the birth date is asked
    await last(ola)
    await ola.send("01-02-1960")
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
    await rina.press("✅ Setuju — untuk keluarga saya")
    await last(rina)
    await register_family_member(rina, "Ibu saya", "Siti Aminah", first=True)
    await rina.send("/pasien")
    listing = await last(rina)
    assert "• Ibu Anda (Siti Aminah)" in listing.plain_text
    await rina.press("➕ Tambah pasien")
    await last(rina)
    await register_family_member(rina, "Bapak", "Andi Baso", first=False)

    mother = await book(rina, patient="Ibu Anda (Siti Aminah)", complaint="Tensi tinggi")
    assert "Ibu Anda (Siti Aminah) — Perawatan luka" in mother.plain_text
    father = await book(
        rina,
        patient="Bapak Anda (Andi Baso)",
        service="Suntik/obat",
        day_index=1,
        window="10:00–12:00",
    )
    assert "Bapak Anda (Andi Baso) — Suntik/obat" in father.plain_text

    account = await account_of(app, rina.id)
    links = await rows(app, PatientLink, PatientLink.account_id == account.id)
    assert sorted((lk.relation, lk.label) for lk in links) == [
        ("caregiver", "Bapak"),
        ("caregiver", "Ibu"),
    ]
    by_label = {lk.label: lk.patient_id for lk in links}
    visits = await rows(app, Visit)
    assert sorted((v.patient_id, v.service_type, str(v.day)) for v in visits) == sorted(
        [
            (by_label["Ibu"], "wound_care", "2026-11-10"),
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
    question = await last(nai)
    # One message lists every sign a person can report about themself.
    assert "Apakah Anda saat ini mengalami salah satu tanda ini?" in question.plain_text
    assert "• Sesak napas berat\n• Nyeri dada\n• Perdarahan hebat\n• Kejang" in question.plain_text
    assert "Tidak sadar" not in question.plain_text  # nobody reports being unconscious
    assert question.button_texts == ["🚨 Ya, ada salah satu", "Tidak ada", "✖ Batal"]
    await nai.press("🚨 Ya, ada salah satu")
    emergency = await last(nai)
    assert "Ini tanda bahaya" in emergency.plain_text
    assert "112 / 119" in emergency.plain_text
    assert app.config.clinic.phone in emergency.plain_text
    assert "Permintaan kunjungan tidak dibuat" in emergency.plain_text

    assert await count(app, Visit) == 0
    [referral] = await rows(app, EmergencyReferral)
    assert referral.service_type == "chronic_check"
    assert referral.signs == ["breathless", "chest_pain", "bleeding", "seizure"]
    [task] = await rows(app, StaffTask)
    assert task.kind == "emergency_followup" and task.patient_id == referral.patient_id
    alert = await kepala.wait_message()
    assert "Tanda bahaya dilaporkan" in alert.plain_text
    assert "Daeng Nai" in alert.plain_text and "+62812" in alert.plain_text
    assert (
        "Tanda (salah satu dari): Sesak napas berat, Nyeri dada, Perdarahan hebat, Kejang"
        in alert.plain_text
    )
    # The conversation is over: the question's buttons are dead.
    account = await account_of(app, nai.id)
    assert await rows(app, Conversation, Conversation.account_id == account.id) == []
    press = await nai.press_forged(question.buttons[1].callback_data or "")
    assert await answer_of(nai, press) == t("id", "common.stale_button")
    await no_failures(app)
