"""Database behaviour: aware UTC datetimes back from both engines; SQLite pragmas; write locks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Clinic
from db.session import Database


async def test_datetimes_come_back_aware_utc(database: Database) -> None:
    wita = timezone(timedelta(hours=8))
    async with database.transaction() as s:
        s.add(
            Clinic(
                code="c",
                name="C",
                timezone="Asia/Makassar",
                created_at=datetime(2026, 11, 28, 9, 30, tzinfo=wita),
            )
        )
    async with database.read() as s:
        created = await s.scalar(select(Clinic.created_at))
    assert created == datetime(2026, 11, 28, 1, 30, tzinfo=UTC)
    assert created is not None and created.tzinfo is not None
    assert created.utcoffset() == timedelta(0)


async def test_naive_datetime_is_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with database.transaction() as s:
            s.add(Clinic(code="n", name="N", timezone="UTC", created_at=datetime(2026, 1, 1)))
            await s.flush()


async def test_sqlite_pragmas(database: Database) -> None:
    if not database.is_sqlite:
        pytest.skip("SQLite-only pragmas; PostgreSQL run checks the same code elsewhere")
    async with database.read() as s:
        assert (await s.scalar(text("PRAGMA journal_mode"))) == "wal"
        assert (await s.scalar(text("PRAGMA foreign_keys"))) == 1
        assert (await s.scalar(text("PRAGMA busy_timeout"))) == 30000


async def test_read_then_write_transactions_serialise(database: Database) -> None:
    """Two concurrent read-modify-write transactions both succeed, neither loses an update."""
    async with database.transaction() as s:
        s.add(Clinic(code="k", name="0", timezone="UTC"))

    async def bump() -> None:
        async with database.transaction() as s:
            clinic = await s.scalar(select(Clinic).where(Clinic.code == "k").with_for_update())
            assert clinic is not None
            await asyncio.sleep(0.01)  # widen the window between the read and the write
            clinic.name = str(int(clinic.name) + 1)

    await asyncio.gather(*(bump() for _ in range(10)))
    async with database.read() as s:
        assert await s.scalar(select(Clinic.name).where(Clinic.code == "k")) == "10"


async def test_nested_write_transaction_in_one_task_is_refused(database: Database) -> None:
    """It would wait for itself: a clear error at once instead of a 30 s hang."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL runs concurrent transactions; no process-wide write queue")
    async with database.transaction():
        with pytest.raises(RuntimeError, match="inside another"):
            async with database.transaction():
                pass
    async with database.transaction() as s:  # the queue is free again afterwards
        s.add(Clinic(code="n", name="n", timezone="UTC"))


async def test_writers_queue_in_process_and_another_process_still_waits(
    database: Database,
) -> None:
    """Writers of this process wait on the queue, never on SQLite's sleeping busy handler; a
    second engine on the same file (the CLI beside the bot) waits through busy_timeout."""
    if not database.is_sqlite:
        pytest.skip("SQLite's one-writer rule")
    order: list[str] = []

    async def writer(name: str, hold: float) -> None:
        async with database.transaction() as s:
            order.append(f"{name}+")
            s.add(Clinic(code=name, name=name, timezone="UTC"))
            await asyncio.sleep(hold)
            order.append(f"{name}-")

    await asyncio.gather(writer("a", 0.05), writer("b", 0.0), writer("c", 0.0))
    assert order == ["a+", "a-", "b+", "b-", "c+", "c-"]  # one at a time, in arrival order

    other = Database(database.url)
    try:
        async with database.transaction() as s:
            s.add(Clinic(code="d", name="d", timezone="UTC"))
            await s.flush()  # this process holds SQLite's write lock now
            late = asyncio.create_task(writer_on(other, "e"))
            await asyncio.sleep(0.1)
            assert not late.done()  # waiting in SQLite's busy handler, not failed
        await late
    finally:
        await other.dispose()
    async with database.read() as s:
        assert set(await s.scalars(select(Clinic.code))) >= {"a", "b", "c", "d", "e"}


async def writer_on(db: Database, code: str) -> None:
    async with db.transaction() as s:
        s.add(Clinic(code=code, name=code, timezone="UTC"))


async def test_grouped_writes_share_a_commit_and_fail_alone(database: Database) -> None:
    """Writes queued together commit together; a failing one fails only its own caller."""
    sessions: list[AsyncSession] = []  # kept alive, so identities are not reused

    async def add(code: str) -> str:
        async def write(s: AsyncSession) -> str:
            sessions.append(s)
            s.add(Clinic(code=code, name=code, timezone="UTC"))
            await s.flush()
            return code

        return await database.grouped(write)

    async def broken(s: AsyncSession) -> None:
        sessions.append(s)
        raise ValueError("this write is wrong")

    results = await asyncio.gather(
        add("g1"), add("g2"), database.grouped(broken), add("g3"), return_exceptions=True
    )
    assert results[:2] == ["g1", "g2"] and results[3] == "g3"
    assert isinstance(results[2], ValueError)
    # First try: one transaction, up to the failure; then each write of the group alone.
    first = sessions[0]
    assert sessions[1] is first and sessions[2] is first
    alone = sessions[3:]
    assert len(alone) == 4 and all(x is not first for x in alone)
    assert len({id(x) for x in alone}) == 4
    async with database.read() as s:
        codes = set(await s.scalars(select(Clinic.code)))
    assert {"g1", "g2", "g3"} <= codes
