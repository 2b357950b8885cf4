"""Fixtures for the delivery tests: apps that can be stopped and started again (restarts and
crashes) on one database and one sandbox, and a clinic clock for the time-travel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import date
from typing import Any

import pytest
import time_machine

from bot.app import HomecareApp, build_application
from db.session import Database
from homecare.config import Config
from tests.delivery.helpers import wita

# Monday 30 November 2026, 09:00 WITA: the day before the tests' visits.
NOW = wita(date(2026, 11, 30), 9)

StartApp = Callable[..., Awaitable[HomecareApp]]


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The clinic's clock at NOW, ticking; tests move it with `clock.move_to(...)`."""
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
async def start_app(
    database: Database, make_config: Callable[..., Config], sandbox: Any
) -> AsyncIterator[StartApp]:
    """`await start_app(config=None)` builds and starts the bot like production; every app still
    running is stopped at the end. Apps share the database (a restart sees the same rows)."""
    running: list[HomecareApp] = []

    async def start(config: Config | None = None) -> HomecareApp:
        hc = build_application(config or make_config(sandbox), db=database)
        await hc.start()
        running.append(hc)
        return hc

    yield start
    for hc in running:
        if hc.relay is not None and not getattr(hc, "_stopped", False):
            await stop_app(hc)


async def stop_app(hc: HomecareApp) -> None:
    """Stop an app once (tests stop apps mid-way to simulate restarts)."""
    if getattr(hc, "_stopped", False):
        return
    hc._stopped = True  # type: ignore[attr-defined]
    await hc.stop()
