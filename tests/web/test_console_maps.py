"""Route maps and the head's planning page in a real browser (headless Debian chromium), with no
map tiles configured (as offline): the nurse's /rute draws her stops as numbered markers and a
line; a head picks a day on /rencana, runs the plan (the same queued run as the bot's /rencana)
and sees each nurse's route on the map and in the list, and the visits left without a nurse.
Both in Indonesian and English. Screenshots go to build/screenshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, update

from bot.app import HomecareApp
from db.models import Account, PlanRun, RouteStop, Visit
from tests.nurse.helpers import TUESDAY, Clinic, add_visit, wait_for, wita
from tests.web.conftest import base_url, login_link, shoot

WEDNESDAY = TUESDAY + timedelta(days=1)
TEXT = {
    "id": {
        "command": "/konsol",
        "title": "Rencana kunjungan",
        "last": "Rencana terakhir dibuat",
        "never": "belum direncanakan",
        "unplaced": "Belum mendapat perawat (1)",
        "reason": "tidak ada perawat dengan keahlian",
        "report": "dari 5 kunjungan",
    },
    "en": {
        "command": "/console",
        "title": "Visit plan",
        "last": "Last plan made",
        "never": "not been planned yet",
        "unplaced": "Without a nurse (1)",
        "reason": "no nurse with the skills",
        "report": "of 5 visits",
    },
}


async def _language(app: HomecareApp, account_id: int, language: str) -> None:
    async with app.db.transaction() as s:
        await s.execute(update(Account).where(Account.id == account_id).values(language=language))


async def _open(browser: Any, link: str, language: str) -> tuple[Any, list[str]]:
    """A signed-in page, and every address the page fetched (nothing may leave the server)."""
    context = await browser.new_context(locale=language)
    page = await context.new_page()
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    await page.goto(link)
    await page.click("#sign-in")
    await page.wait_for_load_state()
    return page, fetched


def _only_local(app: HomecareApp, fetched: list[str]) -> None:
    outside = [u for u in fetched if not u.startswith((base_url(app), "data:"))]
    assert not outside, outside


@pytest.mark.parametrize("language", ["id", "en"])
async def test_nurse_route_map_draws_numbered_stops_without_tiles(
    app: HomecareApp,
    client: Any,
    clinic: Clinic,
    browser: Any,
    clock: time_machine.Traveller,
    language: str,
) -> None:
    await _language(app, clinic.siti.account_id, language)
    clock.move_to(wita(TUESDAY, 7))
    page, fetched = await _open(
        browser, await login_link(clinic.siti.user, TEXT[language]["command"]), language
    )
    assert page.url.endswith("/rute")
    async with app.db.read() as s:
        mine = list(
            await s.scalars(
                select(Visit.id)
                .where(Visit.nurse_id == clinic.siti_id, Visit.day == TUESDAY)
                .order_by(Visit.planned_start)
            )
        )
    assert len(mine) >= 2, "the plan should give Siti at least two stops"
    await page.locator("#map[data-ready]").wait_for()
    markers = page.locator("#map .leaflet-marker-icon.map-stop")
    assert await markers.count() == len(mine)
    # Numbered 1…N in route order, as the list below the map.
    assert [await markers.nth(i).inner_text() for i in range(len(mine))] == [
        str(i) for i in range(1, len(mine) + 1)
    ]
    assert await page.locator("#map .map-start").count() == 1
    assert await page.locator("#map path.route-line").count() == 1
    assert await page.locator("#map .leaflet-tile").count() == 0
    # The map sits above the ordered stop list.
    assert await page.eval_on_selector(
        "#map", "m => !!(m.compareDocumentPosition(document.querySelector('ol.route')) & 4)"
    )
    shown = [
        int(await c.get_attribute("data-visit") or 0)
        for c in await page.locator("ol.route > li").all()
    ]
    assert shown == mine
    _only_local(app, fetched)
    if language == "id":
        await shoot(page, "route-map")


@pytest.mark.parametrize("language", ["id", "en"])
async def test_head_runs_a_plan_and_sees_each_route_on_the_map(
    app: HomecareApp,
    client: Any,
    clinic: Clinic,
    browser: Any,
    language: str,
) -> None:
    words = TEXT[language]
    await _language(app, clinic.head.account_id, language)
    assert app.config.service("palliative") is not None
    async with app.db.transaction() as s:
        for i, service in enumerate(("injection", "wound_care", "chronic_check", "injection")):
            await add_visit(s, app, clinic.patients[i], WEDNESDAY, service, (8, 12))
        # Nobody here has the palliative skill: left without a nurse, with the reason.
        lonely = await add_visit(s, app, clinic.patients[4], WEDNESDAY, "palliative", (9, 11))
    page, fetched = await _open(
        browser, await login_link(clinic.head.user, words["command"]), language
    )
    await page.click(f"header >> text={'Rencana' if language == 'id' else 'Planning'}")
    # Tuesday 06:30: the next working day is Wednesday, not yet planned.
    assert await page.input_value("input[name=hari]") == WEDNESDAY.isoformat()
    text = await page.inner_text("main")
    assert words["title"] in text and words["never"] in text
    assert await page.locator("#map").count() == 0

    await page.click("#run-plan")
    # The page refreshes itself until the worker has finished.
    await page.locator("section.plan-route").first.wait_for(timeout=30_000)
    await page.locator("#plan-run").filter(has_text=words["last"]).wait_for(timeout=30_000)
    async with app.db.read() as s:
        placed = list(
            await s.execute(
                select(Visit.id, Visit.nurse_id)
                .join(RouteStop, RouteStop.visit_id == Visit.id)
                .where(Visit.day == WEDNESDAY)
            )
        )
        run = await s.scalar(select(PlanRun).where(PlanRun.day == WEDNESDAY))
    assert len(placed) == 4
    assert run is not None and run.kind == "manual" and run.status == "done"
    assert run.requested_by_account_id == clinic.head.account_id
    await page.locator("#map[data-ready]").wait_for()
    assert await page.locator("#map .leaflet-marker-icon.map-stop").count() == 4
    nurses = {n for _, n in placed}
    assert await page.locator("#map path.route-line").count() == len(nurses)
    assert await page.locator("section.plan-route li.stop").count() == 4
    unplaced = await page.inner_text("section.unplaced")
    assert words["unplaced"] in unplaced and words["reason"] in unplaced
    assert await page.locator(f"section.unplaced li[data-visit='{lonely.id}']").count() == 1
    _only_local(app, fetched)
    # The same run as the bot's /rencana: the head is told in Telegram too.
    await wait_for(clinic.head.user, words["report"], most=10)
    if language == "id":
        await shoot(page, "planning")
