"""/staf: skills, daily cap, leave (record, approve, refuse), deactivate; reassigning a visit from
the visit log — both nurses and the family told."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import HomecareApp
from bot.i18n import Translator, t
from bot.render.head import day_label
from db.models import Account, AuditEntry, Nurse, NurseLeave, PlanRun, Route, RouteStop, Visit
from scheduler.formats import visit_code
from tests.head import factory
from tests.head.conftest import NOW, Person, wait_menu

TODAY = NOW.date()
TOMORROW = TODAY + timedelta(days=1)


async def staffed(app: HomecareApp, make_person: Callable[..., Any]) -> dict[str, Any]:
    siti: Person = await make_person("siti", "nurse")
    andi: Person = await make_person("andi", "nurse")
    family: Person = await make_person("dewi", "caregiver")
    async with app.db.transaction() as s:
        cid = app.clinic_id
        ns = await factory.nurse(s, cid, "Siti Rahmawati", ("wound", "chronic"), owner=siti.account)
        na = await factory.nurse(s, cid, "Andi Saputra", ("wound", "injection"), owner=andi.account)
        nr = await factory.nurse(s, cid, "Rahma Yusuf", ("maternal",))
        mother = await factory.patient(s, cid, "Ibu Sumarni", "Mappala", family=family.account)
        v = await factory.visit(
            s,
            cid,
            mother,
            TODAY,
            "scheduled",
            who=ns,
            window=(12, 14),
            planned_start=factory.wita(TODAY, 12, 15),
        )
        route = Route(clinic_id=cid, nurse_id=ns.id, day=TODAY, distance_m=4000)
        s.add(route)
        await s.flush()
        s.add(
            RouteStop(
                route_id=route.id,
                visit_id=v.id,
                seq=1,
                arrive=factory.wita(TODAY, 12, 10),
                start=factory.wita(TODAY, 12, 15),
                end=factory.wita(TODAY, 13, 0),
            )
        )
        other = await factory.other_clinic(s)
        foreign = await factory.nurse(s, other, "Perawat Lain")
        return {
            "siti": siti,
            "andi": andi,
            "family": family,
            "ns": ns.id,
            "na": na.id,
            "nr": nr.id,
            "visit": v.id,
            "code": visit_code(v.code),  # as every message shows it
            "foreign": foreign.id,
        }


async def test_skills_cap_and_leave(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    w = await staffed(app, make_person)
    u = head.user
    await u.send("/staf")
    listing = await u.wait_message()
    assert listing.text.startswith("<b>Perawat</b> — 3 aktif")
    assert "• Siti Rahmawati — kuota 8/hari, hari ini 1 kunjungan, 2 keahlian" in listing.text
    assert listing.button_texts == ["Andi Saputra", "Rahma Yusuf", "Siti Rahmawati"]

    await u.press("Siti Rahmawati")
    card = await u.wait_edit(listing)
    assert "Keahlian: Luka, Penyakit kronis" in card.text
    assert "✅ Luka" in card.button_texts and "▫️ Lansia" in card.button_texts
    press = await u.press("▫️ Lansia")
    card = await u.wait_edit(card)
    assert "✅ Lansia" in card.button_texts
    assert (await u.callback_answer(press)).text == t("id", "head.saved")  # type: ignore[union-attr]
    await u.press("+1")
    card = await u.wait_edit(card)
    assert "Kuota harian: 9 kunjungan" in card.text
    async with app.db.read() as s:
        siti = await s.get(Nurse, w["ns"])
    assert (
        siti is not None and siti.skills == ["wound", "chronic", "elderly"] and siti.daily_cap == 9
    )

    # Cap bounds: a refusal with an alert, nothing changed.
    async with app.db.transaction() as s:
        n = await s.get(Nurse, w["ns"])
        assert n is not None
        n.daily_cap = 20
    answer = await u.callback_answer(await u.press("+1"))
    assert answer is not None and answer.show_alert
    assert answer.text == t("id", "head.staff_error.cap_range")

    # Record leave for tomorrow (sick); Siti is told.
    await u.press(t("id", "head.leave_record"))
    days = await u.wait_edit(card)
    tomorrow_label = day_label(Translator("id"), TOMORROW)[:-5]
    await u.press(tomorrow_label)
    kinds = await u.wait_edit(days)
    assert kinds.button_texts[:3] == ["cuti", "sakit", "pelatihan"]
    await u.press("sakit")
    card = await u.wait_edit(kinds)
    assert f"{TOMORROW:%d/%m/%Y} · sakit · disetujui" in card.text
    note = await w["siti"].user.wait_message()
    assert note.text == t(
        "id", "head.leave_note_approved", day=day_label(Translator("id"), TOMORROW), kind="sakit"
    )

    # Declared leave (by the nurse): approve one day, refuse another.
    async with app.db.transaction() as s:
        s.add(NurseLeave(nurse_id=w["na"], day=TODAY + timedelta(days=3), kind="leave"))
        s.add(NurseLeave(nurse_id=w["na"], day=TODAY + timedelta(days=4), kind="leave"))
    await u.send("/staf")
    listing = await u.wait_message()
    assert "Andi Saputra" in listing.text and "2 cuti menunggu persetujuan" in listing.text
    await u.press("Andi Saputra")
    card = await u.wait_edit(listing)
    d3, d4 = (f"{TODAY + timedelta(days=k):%d/%m}" for k in (3, 4))
    await u.press(t("id", "head.leave_approve", day=d3))
    card = await u.wait_edit(card)
    await u.press(t("id", "head.leave_refuse", day=d4))
    card = await u.wait_edit(card)
    approved, refused = await w["andi"].user.wait_messages(2)
    assert "dicatat dan disetujui" in approved.text and "tidak disetujui" in refused.text
    async with app.db.read() as s:
        leave = list(await s.scalars(select(NurseLeave).where(NurseLeave.nurse_id == w["na"])))
    assert [(x.day, x.approved) for x in leave] == [(TODAY + timedelta(days=3), True)]

    # Another clinic's nurse by a forged button: not found.
    answer = await u.callback_answer(await u.press_forged(f"hn:{w['foreign']}"))
    assert answer is not None and answer.text == t("id", "head.staff_error.unknown_nurse")
    answer = await u.callback_answer(await u.press_forged(f"hk:{w['foreign']}:0"))
    assert answer is not None and answer.text == t("id", "head.staff_error.unknown_nurse")
    async with app.db.read() as s:
        actions = list(
            await s.scalars(select(AuditEntry.subject).where(AuditEntry.action == "nurse_changed"))
        )
    assert actions == [
        f"nurse:{w['ns']}:skills",
        f"nurse:{w['ns']}:cap",
        f"nurse:{w['ns']}:leave",
        f"nurse:{w['na']}:leave_approved",
        f"nurse:{w['na']}:leave_refused",
    ]


async def test_deactivate_takes_the_role_and_menu(
    app: HomecareApp, head: Person, make_person: Callable[..., Any], client: Any
) -> None:
    w = await staffed(app, make_person)
    u = head.user
    await u.send("/staf")
    listing = await u.wait_message()
    await u.press("Siti Rahmawati")
    card = await u.wait_edit(listing)
    await u.press(t("id", "head.nurse_deactivate"))
    confirm = await u.wait_edit(card)
    assert confirm.text == t("id", "head.nurse_confirm_deactivate", name="Siti Rahmawati")
    press = await u.press(t("id", "head.yes"))
    card = await u.wait_edit(confirm)
    assert "(nonaktif)" in card.text
    answer = await u.callback_answer(press)
    assert answer is not None and answer.text == t("id", "head.nurse_open_visits", count=1)
    told = await w["siti"].user.wait_message()
    assert told.text == t("id", "head.nurse_note_deactivated", clinic="Puskesmas Kassi-Kassi")
    menu = await wait_menu(client, w["siti"].user.id, {"minta_kunjungan"})
    assert "jadwal" not in menu
    await w["siti"].user.send("/hari_ini")
    assert (await w["siti"].user.wait_message()).text == t("id", "common.not_allowed")
    async with app.db.read() as s:
        n = await s.get(Nurse, w["ns"])
        acc = await s.get(Account, w["siti"].account.id)
    assert n is not None and not n.active
    assert acc is not None and acc.roles == []


async def test_reassign_tells_both_nurses_and_the_family(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    w = await staffed(app, make_person)
    u = head.user
    await u.send("/kunjungan")
    listing = await u.wait_message()
    button = next(
        b
        for b in listing.buttons
        if b.callback_data and b.callback_data.startswith(f"hd:{w['visit']}:")
    )
    await u.press(data=button.callback_data)
    detail = await u.wait_edit(listing)
    await u.press(t("id", "head.reassign"))
    menu = await u.wait_edit(detail)
    assert menu.button_texts[:-1] == ["Andi Saputra"]  # Rahma lacks the wound skill
    assert "Rahma Yusuf" in menu.text
    press = await u.press("Andi Saputra")
    after = await u.wait_edit(menu)
    assert "Perawat: Andi Saputra" in after.text
    answer = await u.callback_answer(press)
    assert (
        answer is not None and answer.text and answer.text.startswith("Dialihkan ke Andi Saputra")
    )

    old = await w["siti"].user.wait_message()
    new = await w["andi"].user.wait_message()
    fam = await w["family"].user.wait_message()
    label = day_label(Translator("id"), TODAY)
    assert old.text == t(
        "id", "head.reassign_note_old", code=w["code"], day=label, window="12:00–14:00"
    )
    assert new.text.startswith(
        f"Kunjungan baru untuk Anda: {w['code']}, {label}, 12:00–14:00 — Ibu, Mappala"
    )
    assert "Jl." not in new.text  # no address in the note; the route shows it to her only
    assert fam.text == t(
        "id", "head.reassign_note_family", day=label, window="12:00–14:00", nurse="Andi"
    )

    async with app.db.read() as s:
        v = await s.get(Visit, w["visit"])
        stop = await s.scalar(select(RouteStop).where(RouteStop.visit_id == w["visit"]))
        route = await s.get(Route, stop.route_id) if stop else None
        audit_rows = list(
            await s.scalars(
                select(AuditEntry.subject).where(AuditEntry.action == "visit_reassigned")
            )
        )
    assert v is not None and v.nurse_id == w["na"] and v.status == "scheduled"
    assert route is not None and route.nurse_id == w["na"] and stop is not None and stop.seq == 1
    assert audit_rows == [f"visit:{w['visit']}:nurse:{w['na']}"]
    # The rest of the day is re-planned by the planning service (queued with the change).
    async with app.db.read() as s:
        runs = list(
            await s.scalars(select(PlanRun).where(PlanRun.day == TODAY, PlanRun.kind == "replan"))
        )
    assert [r.reason for r in runs] == ["visit reassigned by a head"]

    # The same again: refused (already hers); a finished visit cannot be reassigned.
    answer = await u.callback_answer(
        await u.press_forged(f"hR:{w['visit']}:{w['na']}:" + button.callback_data.split(":")[2])
    )
    assert answer is not None and answer.text == t("id", "head.staff_error.same_nurse")


async def test_staff_refused_for_nurse_and_patient(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    w = await staffed(app, make_person)
    for person in (w["siti"], w["family"], await make_person("ani", "patient")):
        await person.user.send("/staf")
        assert (await person.user.wait_message()).text == t("id", "common.not_allowed")
        for data in (f"hk:{w['ns']}:0", f"hA:{w['ns']}:0", f"hR:{w['visit']}:{w['na']}:x"):
            answer = await person.user.callback_answer(await person.user.press_forged(data))
            assert answer is not None and answer.text == t("id", "common.not_allowed")
    async with app.db.read() as s:
        n = await s.get(Nurse, w["ns"])
        v = await s.get(Visit, w["visit"])
    assert n is not None and n.active and n.skills == ["wound", "chronic"]
    assert v is not None and v.nurse_id == w["ns"]
