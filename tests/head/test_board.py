"""Today's board: per nurse the day's visits, late and missed flagged, unconfirmed and unplaced
listed; refreshed in place."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from bot.app import HomecareApp
from bot.i18n import t
from db.models import NurseLeave, Visit
from db.services.board import flag_for
from tests.head import factory
from tests.head.conftest import NOW, Person

WITA = ZoneInfo("Asia/Makassar")
TODAY = NOW.date()


@pytest.mark.parametrize(
    ("status", "window", "planned", "now", "flag"),
    [
        ("scheduled", (8, 10), (9, 0), (9, 10), None),  # within the grace
        ("scheduled", (8, 10), (9, 0), (9, 16), "late"),
        ("confirmed", (8, 10), None, (8, 16), "late"),  # no plan: the window's start counts
        ("scheduled", (8, 10), (9, 0), (10, 1), "missed"),
        ("on_the_way", (8, 10), (9, 0), (9, 50), None),
        ("on_the_way", (8, 10), (9, 0), (10, 5), "late"),
        ("arrived", (8, 10), (9, 0), (11, 0), None),
        ("completed", (8, 10), (9, 0), (13, 0), None),
        ("cancelled_by_patient", (8, 10), (9, 0), (13, 0), None),
    ],
)
def test_flags(
    status: str,
    window: tuple[int, int],
    planned: tuple[int, int] | None,
    now: tuple[int, int],
    flag: str | None,
) -> None:
    day = date(2026, 11, 30)
    at = datetime.combine(day, time(*now), WITA)
    start = datetime.combine(day, time(*planned), WITA) if planned else None
    assert flag_for(status, day, time(window[1]), start, time(window[0]), at, WITA) == flag


async def seed(app: HomecareApp) -> dict[str, int]:
    async with app.db.transaction() as s:
        cid = app.clinic_id
        siti = await factory.nurse(s, cid, "Siti Rahmawati")
        andi = await factory.nurse(s, cid, "Andi Saputra")
        rahma = await factory.nurse(s, cid, "Rahma Yusuf")
        s.add(NurseLeave(nurse_id=rahma.id, day=TODAY, kind="sick", approved=True))
        p = {
            k: await factory.patient(s, cid, f"{k} Pasien", kel)
            for k, kel in (("Ani", "Karunrung"), ("Budi", "Tidung"), ("Citra", "Mappala"))
        }

        def at(hh: int, mm: int = 0) -> datetime:
            return factory.wita(TODAY, hh, mm)

        v = {}
        v["done"] = await factory.visit(
            s, cid, p["Ani"], TODAY, "completed", who=siti, planned_start=at(8)
        )
        v["missed"] = await factory.visit(
            s, cid, p["Budi"], TODAY, "scheduled", who=siti, planned_start=at(9)
        )
        v["late"] = await factory.visit(
            s,
            cid,
            p["Citra"],
            TODAY,
            "confirmed",
            who=siti,
            window=(10, 12),
            planned_start=at(10),
            confirmation="yes",
        )
        v["riding"] = await factory.visit(
            s,
            cid,
            p["Ani"],
            TODAY,
            "on_the_way",
            who=siti,
            window=(10, 12),
            planned_start=at(10, 45),
        )
        v["later"] = await factory.visit(
            s, cid, p["Budi"], TODAY, "scheduled", who=andi, window=(12, 14), planned_start=at(12)
        )
        v["there"] = await factory.visit(
            s,
            cid,
            p["Citra"],
            TODAY,
            "arrived",
            who=andi,
            window=(10, 12),
            planned_start=at(10, 20),
        )
        v["nobody"] = await factory.visit(s, cid, p["Ani"], TODAY, "scheduled", window=(12, 14))
        v["tomorrow"] = await factory.visit(
            s, cid, p["Budi"], TODAY + timedelta(days=1), "scheduled", who=andi
        )
        v["unplaced"] = await factory.visit(
            s, cid, p["Citra"], TODAY + timedelta(days=1), "unplaced"
        )
        v["cancelled"] = await factory.visit(s, cid, p["Budi"], TODAY, "cancelled_by_patient")
        return {k: x.id for k, x in v.items()}


async def test_board_and_refresh_in_place(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    ids = await seed(app)
    await head.user.send("/hari_ini")
    board = await head.user.wait_message()
    text = board.text
    assert text.startswith("<b>Papan kunjungan — Senin, 30 November 2026</b>")
    assert "⏰ Terlambat: 1 · ❗ Terlewat: 1" in text
    lines = text.split("\n")
    siti = lines.index("<b>Siti Rahmawati</b> — 1/4 selesai")
    assert lines[siti + 1 : siti + 5] == [
        "  08:00 ✔️ Ani · Karunrung · Perawatan luka",
        "  09:00 🗓 Budi · Tidung · Perawatan luka ❗ terlewat",
        "  10:00 ✅ Citra · Mappala · Perawatan luka ⏰ terlambat",
        "  10:45 🛵 Ani · Karunrung · Perawatan luka",
    ]
    assert "<b>Andi Saputra</b> — 0/2 selesai" in lines
    assert "<b>Rahma Yusuf</b> — cuti / tidak bertugas" in lines
    assert "<b>Terjadwal tanpa perawat</b> (1)" in lines
    assert "<b>Belum dikonfirmasi pasien</b> (4) — mohon ditelepon" in lines
    assert "  Sel 1 Des 08:00 🗓 Budi · Tidung · Perawatan luka" in lines  # tomorrow's, unconfirmed
    assert "<b>Belum mendapat jadwal</b> (1)" in lines
    assert "  Sel 1 Des 08:00 ⚠️ Citra · Mappala · Perawatan luka" in lines
    assert board.button_texts == [t("id", "head.refresh")]
    assert "dibatalkan" not in text

    async with app.db.transaction() as s:
        await s.execute(update(Visit).where(Visit.id == ids["riding"]).values(status="arrived"))
    press = await head.user.press(t("id", "head.refresh"))
    edited = await head.user.wait_edit(board)
    assert edited.message_id == board.message_id
    assert "  10:45 📍 Ani · Karunrung · Perawatan luka" in edited.text.split("\n")
    answer = await head.user.callback_answer(press)
    assert answer is not None and answer.text == t("id", "head.refreshed")
    await head.user.expect_no_message(0.3)  # edited, not sent again

    for name, role in (("ani", "patient"), ("rina", "nurse"), ("cg", "caregiver")):
        other: Person = await make_person(name, role)
        await other.user.send("/hari_ini")
        assert (await other.user.wait_message()).text == t("id", "common.not_allowed")
        forged = await other.user.press_forged("hb:r")
        answer = await other.user.callback_answer(forged)
        assert answer is not None and answer.text == t("id", "common.not_allowed")
        await other.user.expect_no_message(0.3)


async def test_empty_board_in_english(app: HomecareApp, make_person: Callable[..., Any]) -> None:
    boss: Person = await make_person("boss", "head", language="en")
    await boss.user.send("/hari_ini")
    board = await boss.user.wait_message()
    assert board.text.startswith("<b>Visit board — Monday, 30 November 2026</b>")
    assert t("en", "head.board_no_nurses") in board.text
