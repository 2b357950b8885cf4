"""Fixtures for the family journey's tests: a fixed clinic clock, fast delivery, a staffed clinic.

The shared `app` fixture is re-declared here only to start the clock before the app (so its jobs
see the same time as its handlers) and to lift the per-account flood limit, which the bad-input
tests would otherwise trip by design.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import time_machine

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from db.session import Database
from homecare.config import Config
from tests.patient.helpers import NOW, seed_staff


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any) -> Config:
    cfg = make_config(sandbox)
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    return cfg.replace(delivery=fast)


@pytest.fixture
async def app(
    config: Config, database: Database, clock: time_machine.Traveller
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await hc.start()
    await seed_staff(hc)
    yield hc
    await hc.stop()
