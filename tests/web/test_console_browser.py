"""Stories in a real browser (headless Debian chromium through Playwright): a head signs in with
the link /konsol sends, sees today's board, filters and pages the visit log, opens a visit (the
view is audited) and signs out; a used or expired link is refused; a nurse sees her route in
order with one-tap Maps links. Screenshots at phone and laptop width go to build/screenshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import time_machine
from sqlalchemy import func, select

from bot.app import HomecareApp
from bot.render.formats import visit_code
from db.models import AuditEntry, Visit
from tests.nurse.helpers import TUESDAY, Clinic, add_visit, wait_for, wita
from tests.web.conftest import base_url, login_link, shoot


async def _sign_in(browser: Any, link: str, language: str = "id") -> Any:
    context = await browser.new_context(locale=language)
    page = await context.new_page()
    await page.goto(link)
    await page.click("#sign-in")
    await page.wait_for_load_state()
    return page


async def test_head_signs_in_sees_the_board_and_signs_out(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    link = await login_link(clinic.head.user)
    page = await _sign_in(browser, link)
    assert page.url.endswith("/papan")
    text = await page.inner_text("main")
    assert "Papan kunjungan" in text
    assert "Siti Rahmawati" in text and "Andi Saputra" in text
    # Every Tuesday visit is on the board, under its nurse.
    assert await page.locator("li.stop").count() == len(clinic.visits)
    await shoot(page, "board")

    await page.click("header form.signout button")
    assert "sudah keluar" in await page.inner_text("main")
    await page.goto(base_url(app) + "/papan")
    assert "Kirim /konsol" in await page.inner_text("main")


async def test_a_used_or_expired_link_is_refused(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any, clock: time_machine.Traveller
) -> None:
    link = await login_link(clinic.head.user)
    await _sign_in(browser, link)
    # The same link again, in another browser: refused.
    again = await _sign_in(browser, link)
    assert "Tautan tidak berlaku" in await again.inner_text("main")

    stale = await login_link(clinic.head.user)
    clock.shift(timedelta(minutes=11))
    late = await _sign_in(browser, stale)
    assert "sudah lewat waktunya" in await late.inner_text("main")


async def test_log_filters_pages_and_detail_is_audited(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    # Twelve more visits on Wednesday: with Tuesday's five, two pages of eight.
    async with app.db.transaction() as s:
        for i in range(12):
            await add_visit(
                s, app, clinic.patients[i % 5], TUESDAY + timedelta(days=1), "injection", (8, 10)
            )
    page = await _sign_in(browser, await login_link(clinic.head.user))
    await page.goto(f"{base_url(app)}/kunjungan?dari=2027-04-13&sampai=2027-04-14")
    assert "17 kunjungan" in await page.inner_text("#total")
    assert await page.locator("table.log tbody tr").count() == 8
    await shoot(page, "log")
    await page.click("a[rel=next]")
    assert "Halaman 2 dari 3" in await page.inner_text("nav.pages")

    # Filter: status "scheduled" (Tuesday's planned visits) only.
    await page.goto(f"{base_url(app)}/kunjungan?dari=2027-04-13&sampai=2027-04-14")
    await page.select_option("select[name=status]", "scheduled")
    await page.click("form.filters button")
    assert "5 kunjungan" in await page.inner_text("#total")

    # A wrong date: a clear message, the default range shown, nothing else changes.
    await page.goto(f"{base_url(app)}/kunjungan?dari=kemarin")
    assert "Tanggal tidak dikenali" in await page.inner_text("main")

    first = clinic.visits[0]
    async with app.db.read() as s:
        visit = await s.get(Visit, first)
    assert visit is not None
    await page.goto(f"{base_url(app)}/kunjungan?dari=2027-04-13&sampai=2027-04-13")
    await page.click(f"text={visit_code(visit.code)}")
    detail = await page.inner_text("main")
    assert "Riwayat status" in detail
    async with app.db.read() as s:
        seen = list(
            await s.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "view_visit",
                    AuditEntry.subject == f"visit:{first}",
                    AuditEntry.actor_account_id == clinic.head.account_id,
                )
            )
        )
    assert len(seen) == 1


async def test_nurse_sees_her_route_in_order(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any, clock: time_machine.Traveller
) -> None:
    clock.move_to(wita(TUESDAY, 7))
    page = await _sign_in(browser, await login_link(clinic.siti.user))
    assert page.url.endswith("/rute")
    async with app.db.read() as s:
        mine = list(
            await s.scalars(
                select(Visit)
                .where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY)
                .order_by(Visit.planned_start)
            )
        )
    assert mine, "the plan gave Siti no visit"
    cards = page.locator("ol.route > li")
    assert await cards.count() == len(mine)
    shown = [int(await cards.nth(i).get_attribute("data-visit") or 0) for i in range(len(mine))]
    assert shown == [v.id for v in mine]
    maps = await page.locator("p.maps a").first.get_attribute("href")
    assert maps and maps.startswith("https://www.google.com/maps/dir/")
    await shoot(page, "route")
    # A nurse is not a head: the board is not hers.
    await page.goto(base_url(app) + "/papan")
    assert "bukan untuk akun Anda" in await page.inner_text("main")
    async with app.db.read() as s:
        viewed = list(
            await s.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "nurse_route",
                    AuditEntry.actor_account_id == clinic.siti.account_id,
                )
            )
        )
    assert viewed


async def test_pages_in_english(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    from sqlalchemy import update

    from db.models import Account

    async with app.db.transaction() as s:
        await s.execute(
            update(Account).where(Account.id == clinic.head.account_id).values(language="en")
        )
    page = await _sign_in(browser, await login_link(clinic.head.user, "/console"), "en")
    assert "Visit board" in await page.inner_text("main")
    assert "Sign out" in await page.inner_text("header")


async def test_nurse_status_buttons_reach_the_family(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any, clock: time_machine.Traveller
) -> None:
    clock.move_to(wita(TUESDAY, 7, 45))
    page = await _sign_in(browser, await login_link(clinic.siti.user))
    async with app.db.read() as s:
        first = await s.scalar(
            select(Visit)
            .where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY)
            .order_by(Visit.planned_start)
            .limit(1)
        )
    assert first is not None
    family = clinic.families[clinic.patients.index(first.patient_id)]
    card = page.locator(f"#v{first.id}")
    await card.locator("button[data-action=go]").click()
    await page.wait_for_load_state()
    eta = await wait_for(family.user, "sedang menuju rumah", most=10)
    assert "Siti" in eta.plain_text

    await page.locator(f"#v{first.id} button[data-action=arr]").click()
    await page.wait_for_load_state()
    await page.locator(f"#v{first.id} button[data-action=done]").click()
    await page.wait_for_load_state()
    async with app.db.read() as s:
        done = await s.get(Visit, first.id)
    assert done is not None and done.status == "completed"
    # A finished stop offers no more buttons.
    assert await page.locator(f"#v{first.id} .actions button").count() == 0

    # "Not home" asks first; the family is told how to book again.
    async with app.db.read() as s:
        second = await s.scalar(
            select(Visit)
            .where(
                Visit.nurse_id == clinic.siti_id,
                Visit.day == TUESDAY,
                Visit.status.in_(["scheduled", "confirmed"]),
            )
            .order_by(Visit.planned_start)
            .limit(1)
        )
    assert second is not None
    other = clinic.families[clinic.patients.index(second.patient_id)]
    await page.locator(f"#v{second.id} button[data-action=nh]").click()
    assert "tidak di rumah" in (await page.inner_text("main")).lower()
    await page.click("#sure")
    await page.wait_for_load_state()
    await wait_for(other.user, "tidak bertemu pasien", most=10)
    async with app.db.read() as s:
        gone = await s.get(Visit, second.id)
    assert gone is not None and gone.status == "not_home"


async def test_mini_app_signs_in_with_telegrams_data_and_refuses_a_wrong_hash(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    import json
    from datetime import UTC, datetime
    from urllib.parse import quote, urlencode

    from bot.web.initdata import sign

    def data_for(user_id: int, token: str) -> str:
        fields = {
            "auth_date": str(int(datetime.now(UTC).timestamp())),
            "user": json.dumps({"id": user_id, "first_name": "Budi"}),
        }
        fields["hash"] = sign(fields, token)
        return quote(urlencode(fields))

    context = await browser.new_context()

    async def open_app(data: str) -> Any:
        # A new page each time: the same address with another fragment would not reload.
        page = await context.new_page()
        await page.goto(f"{base_url(app)}/app#tgWebAppData={data}")
        return page

    # Signed with another bot's token: refused, no session. (The page's script posts the data
    # at once; the answer replaces the page.)
    page = await open_app(data_for(clinic.head.user.id, "1:x"))
    await page.locator("p.refused").wait_for()
    assert "Tautan tidak berlaku" in await page.inner_text("main")
    assert not await context.cookies()
    # A family member's own, correctly signed data: refused too (not staff).
    page = await open_app(data_for(clinic.families[0].user.id, app.config.telegram.token))
    await page.locator("p.refused").wait_for()
    assert not await context.cookies()
    # The head's: signed in, on the board.
    page = await open_app(data_for(clinic.head.user.id, app.config.telegram.token))
    await page.locator("text=Papan kunjungan").wait_for()
    assert page.url.endswith("/papan")


async def test_downloads_hold_exactly_the_filtered_set_and_are_audited(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    import csv
    import io
    import zipfile

    import openpyxl

    async with app.db.transaction() as s:
        for i in range(3):
            await add_visit(
                s, app, clinic.patients[i], TUESDAY + timedelta(days=1), "injection", (8, 10)
            )
    page = await _sign_in(browser, await login_link(clinic.head.user))
    await page.goto(f"{base_url(app)}/kunjungan?dari=2027-04-13&sampai=2027-04-14&status=scheduled")
    assert "5 kunjungan" in await page.inner_text("#total")
    async with page.expect_download() as info:
        await page.click("a[data-format=csv]")
    download = await info.value
    path = await download.path()
    with zipfile.ZipFile(path) as z:
        [visits_name] = [n for n in z.namelist() if "visits" in n]
        rows = list(csv.DictReader(io.StringIO(z.read(visits_name).decode("utf-8-sig"))))
    assert sorted(int(r["visit_id"]) for r in rows) == sorted(clinic.visits)
    assert {r["status"] for r in rows} == {"scheduled"}

    async with page.expect_download() as info:
        await page.click("a[data-format=xlsx]")
    saved = await (await info.value).path()
    book = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))
    sheet = book.worksheets[0]
    assert sheet.max_row - 1 == 5  # a header row and the five visits

    async with app.db.read() as s:
        exported = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "export")))
    assert len(exported) == 2
    assert all(e.actor_account_id == clinic.head.account_id for e in exported)
    assert all("s=scheduled" in e.subject for e in exported)


async def test_report_page_with_its_chart(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    page = await _sign_in(browser, await login_link(clinic.head.user))
    await page.click("header >> text=Laporan")
    text = await page.inner_text("main")
    assert "Laporan" in text and "Per perawat" in text
    assert "Siti Rahmawati" in text
    width = await page.eval_on_selector("img.chart", "img => img.naturalWidth")
    assert width > 100
    await shoot(page, "report")
    await page.goto(base_url(app) + "/laporan?p=m209912")
    assert "Periode tidak dikenali" in await page.inner_text("main")
    await page.click("a[rel=prev]")
    assert await page.locator("img.chart").count() == 1


async def test_head_reassigns_a_visit_and_everyone_hears_it(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    async with app.db.read() as s:
        visit = await s.scalar(
            select(Visit).where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY).limit(1)
        )
    assert visit is not None
    family = clinic.families[clinic.patients.index(visit.patient_id)]
    page = await _sign_in(browser, await login_link(clinic.head.user))
    await page.goto(f"{base_url(app)}/kunjungan/{visit.id}")
    await page.select_option("form.reassign select", str(clinic.andi_id))
    await page.click("form.reassign button")
    assert "Kunjungan dipindahkan" in await page.inner_text("main")
    await wait_for(clinic.andi.user, "Kunjungan baru untuk Anda", most=10)
    await wait_for(clinic.siti.user, visit_code(visit.code), most=10)
    await wait_for(family.user, "diganti", most=10)
    async with app.db.read() as s:
        moved = await s.get(Visit, visit.id)
    assert moved is not None and moved.nurse_id == clinic.andi_id


async def test_head_edits_a_nurses_skills_and_cap(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any
) -> None:
    from db.models import Nurse

    async with app.db.read() as s:
        before = await s.get(Nurse, clinic.andi_id)
    assert before is not None
    cap = before.daily_cap
    page = await _sign_in(browser, await login_link(clinic.head.user))
    await page.click("header >> text=Perawat")
    card = page.locator(f"#n{clinic.andi_id}")
    assert "Batas kunjungan per hari" in await card.inner_text()
    await card.locator("button[data-cap='+1']").click()
    assert "Tersimpan" in await page.inner_text("main")
    await page.locator(f"#n{clinic.andi_id} button[data-skill=wound]").click()
    async with app.db.read() as s:
        andi = await s.get(Nurse, clinic.andi_id)
        audited = await s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "nurse_changed")
        )
    assert andi is not None and "wound" not in (andi.skills or [])
    assert andi.daily_cap == cap + 1
    assert audited == 2
    await shoot(page, "staff")
