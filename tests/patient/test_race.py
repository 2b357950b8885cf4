"""Capacity is real: families racing for the last place on a day, in concurrent transactions.

Runs on the services level (db.services.booking.book_visit, each call in its own
`Database.transaction()`), on SQLite and on PostgreSQL (`scripts/with-postgres.sh`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import time

from sqlalchemy import func, select

from db.models import Account, DayCapacity, Nurse, Patient, PatientLink, Visit, VisitStatusChange
from db.services.accounts import ensure_clinic
from db.services.booking import BookingOutcome, book_visit
from db.session import Database
from homecare.config import Config
from scheduler.booking import BookingRefusal, TimeWindow
from tests.patient.helpers import NOW, TUESDAY

FAMILIES = 20
W8 = TimeWindow(time(8), time(10))


async def families(
    db: Database, config: Config, shift_end: time
) -> tuple[int, list[tuple[int, int]]]:
    """A clinic with one nurse (08:00–`shift_end`) and 20 registered patients."""
    async with db.transaction() as session:
        c = config.clinic
        clinic_id = await ensure_clinic(session, c.code, c.name, c.timezone)
        session.add(
            Nurse(
                clinic_id=clinic_id,
                name="Perawat",
                skills=["wound"],
                shift_start=time(8),
                shift_end=shift_end,
                active=True,
            )
        )
        pairs = []
        for i in range(FAMILIES):
            account = Account(telegram_user_id=500_000 + i, chat_id=500_000 + i, first_name=f"K{i}")
            patient = Patient(clinic_id=clinic_id, full_name=f"Pasien {i}", kelurahan="Tidung")
            session.add_all([account, patient])
            await session.flush()
            session.add(PatientLink(account_id=account.id, patient_id=patient.id, relation="self"))
            pairs.append((account.id, patient.id))
    return clinic_id, pairs


async def race(
    db: Database, config: Config, clinic_id: int, pairs: list[tuple[int, int]]
) -> list[BookingOutcome]:
    wound = config.service("wound_care")
    assert wound is not None
    start = asyncio.Event()

    async def attempt(account_id: int, patient_id: int) -> BookingOutcome:
        await start.wait()
        async with db.transaction() as session:
            return await book_visit(
                session,
                config=config,
                clinic_id=clinic_id,
                account_id=account_id,
                patient_id=patient_id,
                service=wound,
                complaint="luka",
                day=TUESDAY,
                window=W8,
                now=NOW,
            )

    tasks = [asyncio.create_task(attempt(a, p)) for a, p in pairs]
    start.set()
    return list(await asyncio.gather(*tasks))


async def check_exactly_one(db: Database, outcomes: list[BookingOutcome]) -> None:
    booked = [o for o in outcomes if o.ok]
    assert len(booked) == 1, [o.decision for o in outcomes]
    refused = [o for o in outcomes if not o.ok]
    assert all(
        o.decision is not None and o.decision.reason is BookingRefusal.NO_CAPACITY for o in refused
    )
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Visit)) == 1
        assert await session.scalar(select(func.count()).select_from(VisitStatusChange)) == 1
        [capacity] = list(await session.scalars(select(DayCapacity)))
    assert capacity.remaining_min == 0


async def test_twenty_families_race_for_the_last_place(
    database: Database, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    clinic_id, pairs = await families(database, config, shift_end=time(14))
    async with database.transaction() as session:
        # The day is nearly full: room for exactly one 45-minute wound care visit.
        session.add(DayCapacity(clinic_id=clinic_id, day=TUESDAY, total_min=270, remaining_min=45))
    await check_exactly_one(database, await race(database, config, clinic_id, pairs))


async def test_twenty_families_race_for_a_day_nobody_has_booked_yet(
    database: Database, make_config: Callable[..., Config]
) -> None:
    config = make_config()
    # One hour of nurse time, 25 % kept for travel: 45 minutes, one wound-care visit. The day's
    # counter does not exist yet: the racers also race to create it.
    clinic_id, pairs = await families(database, config, shift_end=time(9))
    await check_exactly_one(database, await race(database, config, clinic_id, pairs))
    async with database.read() as session:
        [capacity] = list(await session.scalars(select(DayCapacity)))
    assert capacity.total_min == 45
