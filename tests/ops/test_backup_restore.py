"""`homecare backup` while bookings are being written, then `homecare restore` into an empty
database: the same rows in every table, the audit chain verifies. On SQLite and PostgreSQL
(`scripts/with-postgres.sh` runs the suite a second time on PostgreSQL).

A backup is one snapshot: it holds the bookings committed before some moment during the
backup, and none after. Bookings are written one after another, so the rows of each table
are numbered in commit order and the restored database must equal the source's rows up to
the restored highest id, table by table, byte for byte.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from db import migrate
from db.session import Database
from homecare.config import Config
from tests.ops.helpers import (
    PATIENTS,
    Writer,
    counts,
    dump,
    homecare,
    restore_target,
    seed_clinic,
    write_config,
)

UPDATED = {"day_capacity"}  # a booking updates its day's counter


@pytest.fixture
async def source(empty_database: Database) -> Database:
    await migrate.upgrade(empty_database.engine)
    return empty_database


def _snapshot_of(
    final: dict[str, list[tuple[Any, ...]]], restored: dict[str, list[tuple[Any, ...]]]
) -> dict[str, list[tuple[Any, ...]]]:
    """The source's rows as they were at the backup's snapshot, told by the restored ids."""
    expected: dict[str, list[tuple[Any, ...]]] = {}
    for name, rows in final.items():
        if name == "alembic_version":
            expected[name] = rows
            continue
        top = max((r[0] for r in restored.get(name, [])), default=0)
        expected[name] = [r for r in rows if r[0] <= top]
    return expected


def _same_rows(expected: list[tuple[Any, ...]], restored: list[tuple[Any, ...]], name: str) -> None:
    if name in UPDATED:
        # Later bookings changed these rows after the snapshot: same rows (ids), and their
        # counters are checked against the restored visits instead.
        assert [r[0] for r in restored] == [r[0] for r in expected], name
    else:
        assert restored == expected, name


def _capacity_matches_visits(
    restored: dict[str, list[tuple[Any, ...]]], cols: dict[str, list[str]]
) -> None:
    """Each day's counter and the day's visits come from the same moment (one snapshot)."""
    visit = {c: i for i, c in enumerate(cols["visits"])}
    cap = {c: i for i, c in enumerate(cols["day_capacity"])}
    taken: dict[Any, int] = {}
    for v in restored["visits"]:
        taken[v[visit["day"]]] = taken.get(v[visit["day"]], 0) + v[visit["capacity_min"]]
    for row in restored["day_capacity"]:
        used = row[cap["total_min"]] - row[cap["remaining_min"]]
        assert used == taken.get(row[cap["day"]], 0), (row, taken)


async def _columns(url: str) -> dict[str, list[str]]:
    from sqlalchemy import inspect
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: {
                    t: [col["name"] for col in inspect(c).get_columns(t)]
                    for t in ("visits", "day_capacity")
                }
            )
    finally:
        await engine.dispose()


async def test_backup_while_booking_restores_an_identical_database(
    source: Database, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config()
    clinic_id, pairs = await seed_clinic(source, config)
    writer = Writer(source, config, clinic_id, pairs)
    writing = asyncio.create_task(writer.run())
    try:
        await writer.until(20)  # the bot is busy before the backup starts
        before = writer.committed
        run = await homecare(
            write_config(tmp_path / "source.toml", source.url),
            "backup",
            "--to",
            str(tmp_path / "b"),
        )
        after = writer.committed
        await writer.until(after + 5)  # and goes on after it
    finally:
        writer.stop.set()
        await writing
    assert run.code == 0, run.text
    assert after > before, "no booking was written while the backup ran"
    assert "backup written" in run.out

    async with restore_target(tmp_path) as target:
        cfg = write_config(tmp_path / "target.toml", target)
        restored_run = await homecare(cfg, "restore", "--from", str(tmp_path / "b"))
        assert restored_run.code == 0, restored_run.text
        restored = await dump(target)
        cols = await _columns(target)
    final = await dump(source.url)

    expected = _snapshot_of(final, restored)
    assert counts(restored) == counts(expected)
    for name in expected:
        _same_rows(expected[name], restored[name], name)
    bookings = len(restored["visits"])
    assert before <= bookings <= after, (before, bookings, after)
    assert len(final["visits"]) > bookings  # the source went on after the snapshot
    _capacity_matches_visits(restored, cols)
    # Each booking, its message and its audited view committed together: all or none are in.
    assert len(restored["audit_log"]) == len(restored["outbox"]) == bookings
    assert f"audit verify: ok {bookings} entries" in restored_run.out
    print(f"bookings before/in/after the backup: {before}/{bookings}/{after}; {counts(restored)}")


async def test_refuses_a_target_that_holds_data_unless_forced(
    source: Database, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    config = make_config()
    await seed_clinic(source, config)
    src = write_config(tmp_path / "source.toml", source.url)
    assert (await homecare(src, "backup", "--to", str(tmp_path / "b"))).code == 0
    wanted = await dump(source.url)

    async with restore_target(tmp_path) as target:
        cfg = write_config(tmp_path / "target.toml", target)
        assert (await homecare(cfg, "db", "upgrade")).code == 0  # schema only: still empty
        assert (await homecare(cfg, "restore", "--from", str(tmp_path / "b"))).code == 0
        # The target now holds the clinic; one more patient makes it differ from the backup.
        db = Database(target)
        async with db.transaction() as session:
            from db.models import Patient

            session.add(Patient(clinic_id=1, full_name="Baru", kelurahan="Tidung"))
        await db.dispose()
        changed = await dump(target)

        refused = await homecare(cfg, "restore", "--from", str(tmp_path / "b"))
        assert refused.code == 1
        assert "not empty" in refused.err and "--force" in refused.err
        assert await dump(target) == changed

        forced = await homecare(cfg, "restore", "--from", str(tmp_path / "b"), "--force")
        assert forced.code == 0, forced.text
        assert await dump(target) == wanted


async def test_schema_revisions_older_restored_and_told_newer_refused(
    source: Database, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    from sqlalchemy import text

    head = migrate.head()
    await seed_clinic(source, make_config())
    await migrate.downgrade(source.engine, "0004")
    src = write_config(tmp_path / "source.toml", source.url)
    assert (await homecare(src, "backup", "--to", str(tmp_path / "old"))).code == 0
    async with source.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    assert (await homecare(src, "backup", "--to", str(tmp_path / "new"))).code == 0

    async with restore_target(tmp_path) as target:
        cfg = write_config(tmp_path / "target.toml", target)
        newer = await homecare(cfg, "restore", "--from", str(tmp_path / "new"))
        assert newer.code == 1
        assert "9999_future" in newer.err and "newer version" in newer.err
        assert sum(n for n in counts(await dump(target)).values()) == 0  # untouched

        older = await homecare(cfg, "restore", "--from", str(tmp_path / "old"))
        assert older.code == 0, older.text
        assert "run `homecare db upgrade`" in older.out
        assert "(schema revision 0004)" in older.out
        assert (await homecare(cfg, "db", "upgrade")).code == 0
        current = await homecare(cfg, "db", "current")
        assert f"revision: {head}" in current.out
        assert len((await dump(target))["patients"]) == PATIENTS


async def test_a_backup_of_the_wrong_kind_or_not_a_backup_is_refused(
    source: Database, tmp_path: Path
) -> None:
    async with restore_target(tmp_path) as target:
        cfg = write_config(tmp_path / "target.toml", target)
        junk = tmp_path / "junk"
        junk.write_bytes(b"hello, not a database")
        run = await homecare(cfg, "restore", "--from", str(junk))
        assert run.code == 1 and "not a homecare backup" in run.err
        missing = await homecare(cfg, "restore", "--from", str(tmp_path / "nothing"))
        assert missing.code == 1 and "is not a file" in missing.err
        # A backup of the other database kind.
        other = tmp_path / "other"
        if source.is_sqlite:
            other.write_bytes(b"PGDMP" + b"\x00" * 100)
        else:
            import sqlite3

            sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
        wrong = await homecare(cfg, "restore", "--from", str(other))
        assert wrong.code == 1 and "backup but the configured database is" in wrong.err


async def test_a_broken_audit_chain_in_the_backup_is_reported_and_exits_1(
    source: Database, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    from sqlalchemy import text

    config = make_config()
    clinic_id, pairs = await seed_clinic(source, config)
    writer = Writer(source, config, clinic_id, pairs)
    for n in range(3):
        await writer.book(n)
    async with source.engine.begin() as conn:  # someone edits the second entry
        await conn.execute(text("UPDATE audit_log SET subject = 'visit:999' WHERE id = 2"))
    src = write_config(tmp_path / "source.toml", source.url)
    assert (await homecare(src, "backup", "--to", str(tmp_path / "b"))).code == 0
    async with restore_target(tmp_path) as target:
        run = await homecare(
            write_config(tmp_path / "target.toml", target), "restore", "--from", str(tmp_path / "b")
        )
        assert run.code == 1, run.text
        assert "restored" in run.out
        assert "audit verify: audit chain broken at entry id 2" in run.out
