"""The visit log: filters (dates, nurse, status, kelurahan, service) with inline buttons, pages,
a detail view with the full history — each detail view audited; other clinics' visits unseen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.app import HomecareApp
from bot.i18n import t
from db.models import AuditEntry, Feedback
from db.services import visit_log
from scheduler.formats import visit_code
from scheduler.vitals import Vitals
from tests.head import factory
from tests.head.conftest import NOW, Person

TODAY = NOW.date()


async def seed(app: HomecareApp, head: Person) -> dict[str, Any]:
    """20 visits over the last 7 days (Siti 12, Andi 8), one older, one in another clinic."""
    async with app.db.transaction() as s:
        cid = app.clinic_id
        siti = await factory.nurse(s, cid, "Siti Rahmawati")
        andi = await factory.nurse(s, cid, "Andi Saputra")
        siti_acc = await factory.account(s, 9001, "Siti", ("nurse",), cid)
        siti.account_id = siti_acc.id
        ani = await factory.patient(s, cid, "Ani Wulandari", "Karunrung")
        budi = await factory.patient(s, cid, "Budi Hartono", "Tidung", sex="L")
        visits = []
        for i in range(20):
            day = TODAY - timedelta(days=i % 7)
            who = siti if i < 12 else andi
            pat = ani if i % 2 == 0 else budi
            status = (
                "completed" if i % 3 == 0 else "cancelled_by_patient" if i % 3 == 1 else "not_home"
            )
            service = "wound_care" if i % 4 else "chronic_check"
            visits.append(
                await factory.visit(
                    s,
                    cid,
                    pat,
                    day,
                    status,
                    who=who,
                    service=service,
                    actor=siti_acc,
                    started_at=factory.wita(day, 8, 30) if status == "completed" else None,
                    completed_at=factory.wita(day, 9, 5) if status == "completed" else None,
                )
            )
        star = visits[0]  # today, Siti, Ani, completed, chronic_check
        star.nurse_note = "Tekanan darah <tinggi>, edukasi diet"
        star.vitals = Vitals(systolic=150, diastolic=95, pulse_per_min=88).as_dict()
        s.add(Feedback(visit_id=star.id, rating=4, comment="Terima kasih"))
        old = await factory.visit(s, cid, ani, TODAY - timedelta(days=40), "completed", who=siti)
        other = await factory.other_clinic(s)
        foreign_patient = await factory.patient(s, other, "Orang Lain")
        foreign = await factory.visit(s, other, foreign_patient, TODAY, "scheduled")
        return {
            "siti": siti.id,
            "andi": andi.id,
            "star": star,
            "old": old.id,
            "foreign": foreign.id,
            "codes": {v.id: v.code for v in visits},
        }


async def test_search_filters_and_pages(app: HomecareApp, head: Person) -> None:
    data = await seed(app, head)
    week = visit_log.LogFilter(TODAY - timedelta(days=6), TODAY)
    async with app.db.read() as s:
        all_ = await visit_log.search(s, app.clinic_id, week)
        last = await visit_log.search(s, app.clinic_id, week, page=99)
        andi = await visit_log.search(s, app.clinic_id, week.with_(nurse_id=data["andi"]))
        done = await visit_log.search(s, app.clinic_id, week.with_(status="completed"))
        tidung = await visit_log.search(s, app.clinic_id, week.with_(kelurahan="Tidung"))
        chronic = await visit_log.search(s, app.clinic_id, week.with_(service_type="chronic_check"))
        combo = await visit_log.search(
            s,
            app.clinic_id,
            week.with_(nurse_id=data["siti"], status="completed", kelurahan="Karunrung"),
        )
        wide = await visit_log.search(
            s, app.clinic_id, visit_log.LogFilter(TODAY - timedelta(days=60), TODAY)
        )
    assert (all_.total, all_.pages, len(all_.items)) == (20, 3, 8)
    assert (last.page, len(last.items)) == (2, 4)
    assert andi.total == 8 and done.total == 7 and tidung.total == 10 and chronic.total == 5
    # Siti (i < 12), completed (i % 3 == 0), Ani (even i): i = 0, 6 → 2
    assert combo.total == 2
    assert wide.total == 21  # the older visit too; never the other clinic's
    assert all_.items[0].day == TODAY  # newest first


async def test_kunjungan_story(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    data = await seed(app, head)
    u = head.user
    await u.send("/kunjungan")
    listing = await u.wait_message()
    assert listing.text.startswith("<b>Catatan kunjungan</b> — 20 kunjungan")
    assert f"{TODAY - timedelta(days=6):%d/%m/%Y}–{TODAY:%d/%m/%Y}" in listing.text
    assert (
        len([b for b in listing.buttons if b.callback_data and b.callback_data.startswith("hd:")])
        == 8
    )
    assert "1/3" in listing.button_texts

    await u.press("▶")
    page2 = await u.wait_edit(listing)
    assert "2/3" in page2.button_texts and "◀" in page2.button_texts

    await u.press(t("id", "head.filter.nurse"))
    menu = await u.wait_edit(page2)
    assert menu.text == t("id", "head.filter_ask.n")
    await u.press("Andi Saputra")
    andi = await u.wait_edit(menu)
    assert andi.text.startswith("<b>Catatan kunjungan</b> — 8 kunjungan")
    assert "Andi Saputra" in andi.text

    await u.press(t("id", "head.filter.status"))
    menu = await u.wait_edit(andi)
    await u.press("✔️ selesai")
    andi_done = await u.wait_edit(menu)
    assert "— 3 kunjungan" in andi_done.text.split("\n")[0]  # i = 12, 15, 18

    await u.press(t("id", "head.filter.clear"))
    cleared = await u.wait_edit(andi_done)
    assert "— 20 kunjungan" in cleared.text.split("\n")[0]

    await u.press(t("id", "head.filter.kelurahan"))
    menu = await u.wait_edit(cleared)
    await u.press("Karunrung")
    karunrung = await u.wait_edit(menu)
    assert "— 10 kunjungan" in karunrung.text.split("\n")[0]  # Ani: even i
    await u.press(t("id", "head.filter.service"))
    menu = await u.wait_edit(karunrung)
    await u.press("Cek hipertensi/diabetes")
    both = await u.wait_edit(menu)
    assert "— 5 kunjungan" in both.text.split("\n")[0]  # i % 4 == 0: 0, 4, 8, 12, 16
    await u.press(t("id", "head.filter.dates"))
    menu = await u.wait_edit(both)
    await u.press(t("id", "head.preset.t"))
    today_only = await u.wait_edit(menu)
    assert f"{TODAY:%d/%m/%Y}–{TODAY:%d/%m/%Y}" in today_only.text

    # The detail of the star visit: history, note (escaped), vitals, rating; audited.
    await u.send("/kunjungan")
    listing = await u.wait_message()
    star = data["star"]
    button = next(
        b
        for b in listing.buttons
        if b.callback_data and b.callback_data.startswith(f"hd:{star.id}:")
    )
    await u.press(data=button.callback_data)
    detail = await u.wait_edit(listing)
    text = detail.text
    assert text.startswith(f"<b>Kunjungan {visit_code(star.code)}</b>")
    assert "👤 Ani Wulandari (76 th, P) · Karunrung" in text
    assert "Catatan perawat: Tekanan darah &lt;tinggi&gt;, edukasi diet" in text
    assert "TD 150/95 mmHg" in text and "Nadi 88/min" in text
    assert "Penilaian: ★★★★ — Terima kasih" in text
    assert "Siti (perawat) · tiba → selesai" in text
    assert "(sistem) · diminta → terjadwal" in text
    assert text.count(" → ") == 5  # created, then four changes
    async with app.db.read() as s:
        entries = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "view_visit")))
    assert [(e.actor_account_id, e.actor_role, e.subject) for e in entries] == [
        (head.account.id, "head", f"visit:{star.id}")
    ]
    assert "Ani" not in entries[0].subject  # no patient data in the audit entry
    await u.press(t("id", "head.back"))
    back = await u.wait_edit(detail)
    assert back.text.startswith("<b>Catatan kunjungan</b>")

    # Another clinic's visit, by a forged button: not found, nothing shown, nothing audited.
    state = button.callback_data.split(":", 2)[2]
    forged = await u.press_forged(f"hd:{data['foreign']}:{state}")
    answer = await u.callback_answer(forged)
    assert (
        answer is not None and answer.text == t("id", "head.visit_not_found") and answer.show_alert
    )
    for bad in (
        "hd:abc:x:0",
        "hl:2026:0",
        "hs:s:99:" + state.rsplit(":", 1)[0],
        "hf:q:" + state.rsplit(":", 1)[0],
    ):
        answer = await u.callback_answer(await u.press_forged(bad))
        assert answer is not None and answer.text == t("id", "common.stale_button"), bad
    async with app.db.read() as s:
        assert (
            len(list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "view_visit"))))
            == 1
        )

    await u.send(f"/kunjungan {TODAY - timedelta(days=60):%Y-%m-%d} {TODAY:%Y-%m-%d}")
    assert (await u.wait_message()).text.startswith("<b>Catatan kunjungan</b> — 21 kunjungan")
    await u.send("/kunjungan kemarin")
    assert (await u.wait_message()).text == t("id", "head.log_bad_dates")


async def test_refused_for_nurse_patient_caregiver(
    app: HomecareApp, head: Person, make_person: Callable[..., Any]
) -> None:
    data = await seed(app, head)
    star = data["star"]
    for name, role in (("ani", "patient"), ("rina", "nurse"), ("cg", "caregiver")):
        other: Person = await make_person(name, role)
        await other.user.send("/kunjungan")
        assert (await other.user.wait_message()).text == t("id", "common.not_allowed")
        answer = await other.user.callback_answer(
            await other.user.press_forged(f"hd:{star.id}:{TODAY:%Y%m%d}{TODAY:%Y%m%d}....:0")
        )
        assert answer is not None and answer.text == t("id", "common.not_allowed")
        await other.user.expect_no_message(0.3)
    async with app.db.read() as s:
        assert (
            list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "view_visit"))) == []
        )
