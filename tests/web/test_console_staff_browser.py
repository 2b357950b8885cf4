"""/staf leave and deactivation, and the log's text search, in a real browser (headless Debian
chromium through Playwright), in id and en."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.app import HomecareApp
from bot.i18n import t
from bot.render.formats import visit_code
from db.models import Account, AuditEntry, Nurse, NurseLeave, OutboxMessage, Visit
from tests.nurse.helpers import TUESDAY, Clinic, wait_for, wait_run
from tests.web.conftest import base_url, login_link, shoot
from tests.web.test_console_browser import _sign_in
from tests.web.test_console_staff import MOVED, _last_run

COMMAND = {"id": "/konsol", "en": "/console"}


async def _languages(app: HomecareApp, language: str) -> None:
    async with app.db.transaction() as s:
        await s.execute(update(Account).values(language=language))


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_head_records_leave_and_deactivates_a_nurse_in_the_browser(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any, lang: str
) -> None:
    await _languages(app, lang)
    async with app.db.read() as s:
        sitis = list(
            await s.scalars(
                select(Visit).where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY)
            )
        )
    assert sitis
    page = await _sign_in(browser, await login_link(clinic.head.user, COMMAND[lang]), lang)
    await page.goto(base_url(app) + "/staf")
    card = page.locator(f"#n{clinic.siti_id}")
    assert t(lang, "staffweb.leave_none") in await card.inner_text()
    last = await _last_run(app)
    await card.locator("input[name=dari]").fill(TUESDAY.isoformat())
    await card.locator("select[name=jenis]").select_option("sick")
    await card.locator("button[data-leave-add]").click()
    await page.wait_for_load_state()
    assert t(lang, "console.web.saved") in await page.inner_text("main")
    assert await page.locator(f"#n{clinic.siti_id} li[data-day='{TUESDAY.isoformat()}']").count()
    await wait_run(app, "replan", after_id=last)
    family = clinic.families[clinic.visits.index(sitis[0].id)]
    told = await wait_for(family.user, MOVED[lang], most=10)
    assert visit_code(sitis[0].code) in told.plain_text
    await shoot(page, f"staff-leave-{lang}")

    # Deactivate: the confirm page first, then the card says inactive and her menu is reset.
    await page.locator(f"#n{clinic.siti_id} button[data-active='0']").click()
    await page.wait_for_load_state()
    text = await page.inner_text("main")
    assert t(lang, "staffweb.confirm_deactivate", name="Siti Rahmawati") in text
    await page.click("#sure")
    await page.wait_for_load_state()
    card_text = await page.locator(f"#n{clinic.siti_id}").inner_text()
    assert t(lang, "console.web.inactive") in card_text
    assert t(lang, "staffweb.activate") in card_text
    async with app.db.read() as s:
        siti = await s.get(Nurse, clinic.siti_id)
        menus = await s.scalar(
            select(OutboxMessage.id).where(
                OutboxMessage.template == "staff.menu",
                OutboxMessage.chat_id == clinic.siti.user.id,
            )
        )
        leave = list(await s.scalars(select(NurseLeave)))
    assert siti is not None and not siti.active and menus is not None
    assert [(lv.day, lv.kind) for lv in leave] == [(TUESDAY, "sick")]


@pytest.mark.parametrize("lang", ["id", "en"])
async def test_head_searches_the_log_and_downloads_the_matches(
    app: HomecareApp, client: Any, clinic: Clinic, browser: Any, lang: str
) -> None:
    await _languages(app, lang)
    async with app.db.read() as s:
        first = await s.get(Visit, clinic.visits[0])  # Ani Lestari's
    assert first is not None
    page = await _sign_in(browser, await login_link(clinic.head.user, COMMAND[lang]), lang)
    day = TUESDAY.isoformat()
    await page.goto(f"{base_url(app)}/kunjungan?dari={day}&sampai={day}")
    await page.fill("input[name=q]", "lestari")
    await page.click("form.filters button")
    assert await page.locator("table.log tbody tr").count() == 1
    assert visit_code(first.code) in await page.inner_text("table.log")
    await page.fill("input[name=q]", visit_code(first.code).lower())
    await page.click("form.filters button")
    assert await page.locator("table.log tbody tr").count() == 1
    async with page.expect_download() as info:
        await page.click("a[data-format=csv]")
    path = await (await info.value).path()
    with zipfile.ZipFile(path) as z:
        [name] = [n for n in z.namelist() if "visits" in n]
        rows = list(csv.DictReader(io.StringIO(z.read(name).decode("utf-8-sig"))))
    assert [int(r["visit_id"]) for r in rows] == [first.id]
    async with app.db.read() as s:
        [row] = list(await s.scalars(select(AuditEntry).where(AuditEntry.action == "export")))
    assert f";q={visit_code(first.code).lower()}" in row.subject
    # Nothing matches: the log says so.
    await page.fill("input[name=q]", "zzzz")
    await page.click("form.filters button")
    assert t(lang, "console.web.log_empty") in await page.inner_text("main")
