"""The write queue's fast lane (db/writelock.py): a person's update goes ahead of background
batches already waiting, never ahead of the one running, and background work is not starved."""

from __future__ import annotations

import asyncio

import pytest

from db.models import Clinic
from db.session import Database
from db.writelock import WriteLock


async def test_urgent_transactions_go_ahead_of_waiting_background_ones(
    database: Database,
) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite's one-writer rule")
    order: list[str] = []

    async def writer(name: str, urgent: bool, hold: float = 0.0) -> None:
        async with database.transaction(urgent=urgent) as s:
            order.append(f"{name}+")
            s.add(Clinic(code=name, name=name, timezone="UTC"))
            await asyncio.sleep(hold)
            order.append(f"{name}-")

    plan = asyncio.create_task(writer("plan", False, hold=0.1))  # a long background write
    await asyncio.sleep(0.02)
    batches = [asyncio.create_task(writer(f"batch{i}", False)) for i in range(2)]
    await asyncio.sleep(0.02)
    person = asyncio.create_task(writer("help", True))  # arrives last, served right after
    await asyncio.gather(plan, *batches, person)
    assert order == [
        "plan+", "plan-", "help+", "help-", "batch0+", "batch0-", "batch1+", "batch1-",
    ]  # fmt: skip


async def test_a_background_writer_waiting_too_long_goes_first() -> None:
    lock = WriteLock(max_bypass_s=0.05)
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await lock.acquire(urgent)
        order.append(name)
        await asyncio.sleep(0.03)
        lock.release()

    await lock.acquire()
    background = asyncio.create_task(take("background", False))
    await asyncio.sleep(0.06)  # waited longer than max_bypass_s
    urgent = asyncio.create_task(take("urgent", True))
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(background, urgent)
    assert order == ["background", "urgent"]


async def test_a_waiter_that_gives_up_does_not_keep_the_lock() -> None:
    lock = WriteLock()
    await lock.acquire()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(lock.acquire(urgent=True), 0.01)
    after = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    lock.release()
    await asyncio.wait_for(after, 1.0)
    assert lock.locked()
    lock.release()
    assert not lock.locked()
    # Handed over at the moment its waiter is cancelled: passed on, not lost.
    await lock.acquire()
    gone = asyncio.create_task(lock.acquire())
    nxt = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    lock.release()  # `gone` is chosen …
    gone.cancel()  # … and cancelled before it runs
    await asyncio.wait_for(nxt, 1.0)
    assert lock.locked()
