"""Fixtures for the web console: the app with its console on a free port, the staffed clinic of
the nurse's tests with Tuesday planned, and Debian's chromium driven by Playwright.

Chromium comes from Debian's `chromium` package (scripts/ensure-chromium.sh, run by `make test`);
Playwright's own browser download does not work here, so it is launched by path.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import time_machine

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from db.session import Database
from homecare.config import Config
from tests.nurse.helpers import START, Clinic, plan_tuesday, seed_clinic, wait_for

CHROMIUM = os.environ.get("HOMECARE_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network and a root user (CI): no background fetches, no sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("HOMECARE_SCREENSHOTS", "build/screenshots"))
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}
LINK = re.compile(r"https?://\S+/masuk\?t=[\w\-%]+")


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Any, sandbox: Any) -> Config:
    cfg = make_config(sandbox)
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    return cfg.replace(
        delivery=fast,
        planner=dataclasses.replace(cfg.planner, time_limit_s=0.5),
        # Offline: no map tiles; the route maps must draw without them.
        web=dataclasses.replace(cfg.web, enabled=True, port=0, tile_url=""),
    )


@pytest.fixture
async def app(
    clock: time_machine.Traveller, config: Config, database: Database
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=1000.0)
    await hc.start()
    hc.jobs.scheduler.pause()
    yield hc
    await hc.stop()


@pytest.fixture
async def clinic(app: HomecareApp, client: Any, clock: time_machine.Traveller) -> Clinic:
    """Head Budi, nurses Siti and Andi, five families; Tuesday planned, the clock at 06:30."""
    c = await seed_clinic(app, client)
    await plan_tuesday(app, clock)
    return c


def base_url(app: HomecareApp) -> str:
    from bot.web.urls import base_url as url_of

    return url_of(app.config.web)


async def login_link(user: Any, command: str = "/konsol") -> str:
    await user.send(command)
    message = await wait_for(user, "/masuk?t=", most=10)
    found = LINK.search(message.plain_text)
    assert found, message.plain_text
    return found.group(0)


@pytest.fixture
async def http(app: HomecareApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url(app), follow_redirects=False) as c:
        yield c


def _chromium_present() -> bool:
    return bool(shutil.which(CHROMIUM)) or Path(CHROMIUM).exists()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not _chromium_present():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-chromium.sh (make test does)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            await b.close()


async def shoot(page: Any, name: str) -> list[Path]:
    """Screenshots of the page at phone and laptop width (listed in the closing notes)."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    out = []
    for label, size in (("phone", PHONE), ("laptop", LAPTOP)):
        await page.set_viewport_size(size)
        path = SCREENSHOTS / f"{name}-{label}.png"
        await page.screenshot(path=str(path), full_page=True)
        out.append(path)
    return out
