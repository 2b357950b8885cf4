"""Fixtures for the nurse's day and planning: a clinic clock started before the app (so its jobs,
handlers and the planner see one time), quick delivery, short solver runs, a staffed clinic.
Every plan a test makes is checked by the independent feasibility checker when the app stops."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from db.models import PlanRun
from db.session import Database
from homecare.config import Config
from tests.nurse.helpers import START, Clinic, assert_sound, seed_clinic


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any) -> Config:
    cfg = make_config(sandbox)
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    # Small days plan well within half a second; a 2-core machine runs the suite.
    planner = dataclasses.replace(cfg.planner, time_limit_s=0.5)
    return cfg.replace(delivery=fast, planner=planner)


@pytest.fixture
async def app(
    clock: time_machine.Traveller, config: Config, database: Database
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=1000.0)
    await hc.start()
    # Moving the clock would fire the cron jobs as well; these tests call the jobs themselves
    # (test_jobs.py checks what is scheduled). The planning worker runs as usual.
    hc.jobs.scheduler.pause()
    yield hc
    try:
        await every_plan_is_sound(hc)
    finally:
        await hc.stop()


async def every_plan_is_sound(hc: HomecareApp) -> None:
    """The independent feasibility checker, on every plan the test made (as stored)."""
    async with hc.db.read() as s:
        runs = list(await s.scalars(select(PlanRun).where(PlanRun.status == "done")))
    for run in runs:
        if run.result is not None and "merged_into" not in run.result:
            assert_sound(run)


@pytest.fixture
async def clinic(app: HomecareApp, client: Any) -> Clinic:
    return await seed_clinic(app, client)
