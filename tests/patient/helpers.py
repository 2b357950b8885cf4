"""Helpers for the family journey's tests (import as `tests.patient.helpers`)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import func, select

from bot.app import HomecareApp
from bot.i18n import Translator
from bot.render.patient.kin import said
from db.models import Account, AccountRole, InboxUpdate, Nurse, OutboxMessage
from sandbox.client import BotMessage, SandboxClient, SandboxUser
from scheduler.booking import WITA

# A Monday morning in November 2026 (no holiday that week): the earliest bookable day is
# Tuesday 10 Nov, the horizon runs to Tuesday 17 Nov (Sunday 15 Nov is skipped).
NOW = datetime(2026, 11, 9, 9, 0, tzinfo=WITA)
TUESDAY = date(2026, 11, 10)
HEAD_USER_ID = 990_001
NURSE_USER_ID = 990_002

# 73 Sulawesi Selatan, 71 Makassar, district 10, born 17-08-1950 (man: day as is), serial 0001.
NIK_1950_MALE = "7371101708500001"


async def seed_staff(hc: HomecareApp, nurses: int = 2) -> None:
    """A head (with a Telegram account) and nurses who can give every service."""
    skills = sorted({s for svc in hc.config.services for s in svc.skills})
    async with hc.db.transaction() as session:
        head = Account(
            telegram_user_id=HEAD_USER_ID, chat_id=HEAD_USER_ID, first_name="Budi", language="id"
        )
        nurse_account = Account(
            telegram_user_id=NURSE_USER_ID, chat_id=NURSE_USER_ID, first_name="Siti", language="id"
        )
        session.add_all([head, nurse_account])
        await session.flush()
        session.add_all(
            [
                AccountRole(account_id=head.id, clinic_id=hc.clinic_id, role="head"),
                AccountRole(account_id=nurse_account.id, clinic_id=hc.clinic_id, role="nurse"),
            ]
        )
        for i in range(nurses):
            session.add(
                Nurse(
                    clinic_id=hc.clinic_id,
                    account_id=nurse_account.id if i == 0 else None,
                    name=f"Perawat {i + 1}",
                    skills=skills,
                    daily_cap=8,
                    shift_start=time(8),
                    shift_end=time(14),
                    active=True,
                )
            )


async def user(client: SandboxClient, name: str, language: str = "id") -> SandboxUser:
    return await client.user(name, language_code=language, first_name=name.capitalize())


async def expect(u: SandboxUser, count: int = 1, wait_s: float = 10.0) -> list[BotMessage]:
    messages = await u.wait_messages(count, wait_s)
    assert len(messages) == count, (
        f"expected {count} message(s), got {[m.plain_text for m in messages]}"
    )
    return messages


async def last(u: SandboxUser, count: int = 1) -> BotMessage:
    return (await expect(u, count))[-1]


async def answer_of(u: SandboxUser, press: Any) -> str:
    got = await u.callback_answer(press)
    assert got is not None, "the bot did not answer the button"
    return got.text or ""


async def register_self(
    u: SandboxUser,
    *,
    name: str = "Daeng Nai",
    nik: str | None = NIK_1950_MALE,
    kelurahan: str = "Karunrung",
    location: bool = True,
) -> BotMessage:
    """/start → "agree — for myself" → every field → saved (and the booking's first question,
    which it leaves open). Returns the "saved" message."""
    await u.send("/start")
    consent = await last(u)
    assert "Persetujuan" in consent.plain_text or "Consent" in consent.plain_text
    await u.press(consent.buttons[0].text)
    await fill_profile(u, name=name, nik=nik, kelurahan=kelurahan, location=location)
    saved, _services = await expect(u, 2)
    return saved


ADDRESS = "Jl. Tamalate I No. 12, RT 3/5, {kelurahan}, depan masjid, pagar hijau"


async def fill_profile(
    u: SandboxUser,
    *,
    name: str,
    nik: str | None,
    kelurahan: str | None,
    location: bool,
    typed_phone: str | None = None,
    pin: tuple[float, float] = (-5.1601, 119.4480),
) -> None:
    """From the name question through the location (the caller reads the "saved" message).

    With `kelurahan=None` the address names none, and the caller answers the kelurahan
    question (left unread)."""
    await last(u)  # name question
    await u.send(name)
    phone = await last(u)
    if typed_phone is None:
        await u.press_reply(phone.reply_buttons[0].text)
    else:
        await u.send(typed_phone)
    nik_question = await last(u)
    if nik is None:
        await u.press(nik_question.buttons[0].text)
        await last(u)  # birth date
        await u.send("17-08-1950")
    else:
        await u.send(nik)
    await last(u)  # address
    if kelurahan is None:
        await u.send("Jl. Tamalate I No. 12, RT 3/5, depan masjid, pagar hijau")
        return
    await u.send(ADDRESS.format(kelurahan=kelurahan))
    loc = await last(u)
    if location:
        await u.press_reply(loc.reply_buttons[0].text, latitude=pin[0], longitude=pin[1])
    else:
        await u.press_reply(loc.reply_buttons[1].text)


async def register_family_member(u: Any, label: str, name: str, *, first: bool) -> None:
    """From the label question through the saved message (and, for `first`, the booking).

    `label` is typed as a family would ("Ibu saya"); the bot says it back as "Ibu Anda"."""
    await u.send(label)
    label = said(Translator("id"), label)
    behalf = await last(u)
    assert f"Anda akan mendaftarkan {label}" in behalf.plain_text
    await u.press("✅ Setuju")
    name_question = await last(u)
    assert name_question.plain_text == f"Siapa nama lengkap {label} (sesuai KTP)?"
    # fill_profile reads the name question itself: put it back.
    u.cursor = name_question.message_id - 1
    await fill_profile(u, name=name, nik=None, kelurahan="Mappala", location=False)
    if first:
        saved, services = await expect(u, 2)
        assert "Layanan perawat apa yang dibutuhkan" in services.plain_text
        await u.press("✖ Batal")
        await last(u)
    else:
        saved = await last(u)
    assert saved.plain_text.startswith(f"Terima kasih, data {label} tersimpan ✓")


async def book(
    u: SandboxUser,
    *,
    service: str = "Perawatan luka",
    complaint: str = "Luka di kaki belum kering",
    day_index: int = 0,
    window: str = "08:00–10:00",
    patient: str | None = None,
) -> BotMessage:
    """/minta_kunjungan through the confirmation. Returns the confirmation message."""
    await u.send("/minta_kunjungan")
    first = await last(u)
    if patient is not None:
        await u.press(patient, message_id=first.message_id)
        await last(u)
    await u.press(service)
    await no_danger_signs(u)
    await u.send(complaint)
    days = await last(u)
    assert days.buttons[0].text.startswith("⚡"), "the earliest slot comes first"
    await u.press(days.buttons[day_index + 1].text)
    await last(u)
    await u.press(window)
    summary = await last(u)
    await u.press(summary.buttons[0].text)
    return await last(u)


async def no_danger_signs(u: SandboxUser) -> None:
    """The one safety question (every sign listed) → "none of these"."""
    question = await last(u)
    assert "keselamatan" in question.plain_text or "Safety" in question.plain_text
    await u.press(question.buttons[1].text)
    await last(u)  # complaint question


async def failed_updates(hc: HomecareApp) -> list[Any]:
    async with hc.db.read() as session:
        return list(
            (
                await session.execute(
                    select(InboxUpdate.update_id, InboxUpdate.error).where(
                        InboxUpdate.status == "failed"
                    )
                )
            ).all()
        )


async def outbox_to(hc: HomecareApp, chat_id: int) -> list[OutboxMessage]:
    async with hc.db.read() as session:
        return list(
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.chat_id == chat_id)
                .order_by(OutboxMessage.id)
            )
        )


async def count(hc: HomecareApp, model: Any) -> int:
    async with hc.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)
