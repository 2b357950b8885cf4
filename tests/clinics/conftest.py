"""Two puskesmas in one install: Kassi-Kassi (the demo clinic, first) and Bara-Baraya, whose
records carry distinctive names ("Zubaidah", "Xaverius"…) so a leak is easy to see.

Bara-Baraya works Monday to Wednesday, 07:30–12:00, and is closed on Wednesday 11 Nov 2026.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import time
from typing import Any

import pytest
import time_machine

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from db.models import Account, AccountRole, Nurse
from db.session import Database
from homecare.config import ClinicConfig, Config, Location
from tests.patient.helpers import NOW, seed_staff

BARA = ClinicConfig(
    code="bara-baraya",
    name="Puskesmas Bara-Baraya",
    location=Location(lat=-5.1365, lon=119.4271),
    service_radius_km=4.0,
    address="Jl. Abu Bakar Lambogo, Bara-Baraya, Makassar",
    phone="+62411777777",
    service_area=("Bara-Baraya", "Maricaya"),
    working_days=("mon", "tue", "wed"),
    working_hours=(time(7, 30), time(12, 0)),
    closures=("2026-11-11",),
)
BARA_HEAD_USER_ID = 991_001
BARA_NURSE_USER_ID = 991_002


def two_clinics(cfg: Config, **sections: Any) -> Config:
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    return cfg.replace(clinics=(cfg.clinic, BARA), delivery=fast, **sections)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any) -> Config:
    return two_clinics(make_config(sandbox))


async def seed_bara_staff(hc: HomecareApp) -> int:
    """Bara-Baraya's head Zulfikar and nurse Xaverius (every skill); returns the nurse id."""
    bara = hc.clinics.id_of(BARA.code)
    skills = sorted({s for svc in hc.config.services for s in svc.skills})
    async with hc.db.transaction() as session:
        head = Account(
            telegram_user_id=BARA_HEAD_USER_ID,
            chat_id=BARA_HEAD_USER_ID,
            first_name="Zulfikar",
            language="id",
            roles=[AccountRole(clinic_id=bara, role="head")],
        )
        nurse_account = Account(
            telegram_user_id=BARA_NURSE_USER_ID,
            chat_id=BARA_NURSE_USER_ID,
            first_name="Xaverius",
            language="id",
            roles=[AccountRole(clinic_id=bara, role="nurse")],
        )
        session.add_all([head, nurse_account])
        await session.flush()
        nurse = Nurse(
            clinic_id=bara,
            account_id=nurse_account.id,
            name="Xaverius Qodratullah",
            skills=skills,
            daily_cap=8,
            shift_start=time(7, 30),
            shift_end=time(12),
            active=True,
        )
        session.add(nurse)
        await session.flush()
        return nurse.id


@pytest.fixture
async def app(
    config: Config, database: Database, clock: time_machine.Traveller
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await hc.start()
    await seed_staff(hc)
    await seed_bara_staff(hc)
    yield hc
    await hc.stop()
