"""Engine and sessions: the same code on SQLite (default) and PostgreSQL (city-wide install).

SQLite needs care to be safe under concurrent writers:
- WAL lets readers proceed while one writer writes; `busy_timeout` makes a second writer wait
  instead of failing at once; foreign keys are off unless asked for.
- pysqlite/aiosqlite begin transactions lazily, at the first write, so a read-then-write
  transaction can read stale data and then fail with "database is locked". We take over BEGIN and
  emit `BEGIN IMMEDIATE` for write transactions: the write lock is taken before the first read.
- Writers of one process queue on an asyncio lock before they ask SQLite. SQLite's busy handler
  waits by sleeping (1, 2, 5 … 100 ms), so a busy relay and intake contending for the write lock
  spent most of their time asleep (bench/intake.py: 30 updates/s). Other processes (the CLI
  beside a running bot) still wait through `busy_timeout`. `transaction(urgent=True)` (a
  person's update, the relay's claims and marks) goes ahead of queued background writers such
  as a plan's write or a batch of reminders (db/writelock.py).

`grouped` runs small independent writes that arrive together (the relay's claim and mark of
each message) in one transaction: one BEGIN and COMMIT for many (group commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from db import models_console, models_satusehat  # noqa: F401  (their tables join Base.metadata)
from db.models import Base
from db.writelock import WriteLock

T = TypeVar("T")
Write = Callable[[AsyncSession], Awaitable[Any]]

WRITE_WAIT_S = 30.0  # how long a writer waits for SQLite's one write lock
_WRITE = "homecare_write"


def _prepare_sqlite_file(url: str) -> None:
    u = make_url(url)
    if u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)


def create_engine(url: str, echo: bool = False, *, foreign_keys: bool = True) -> AsyncEngine:
    """`foreign_keys=False` (SQLite only) is for migrations: see db/migrate.py."""
    is_sqlite = url.startswith("sqlite")
    kwargs: dict[str, Any] = {"echo": echo}
    if is_sqlite:
        _prepare_sqlite_file(url)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite:
        _install_sqlite_hooks(engine, foreign_keys)
    return engine


def _install_sqlite_hooks(engine: AsyncEngine, foreign_keys: bool = True) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver (see module docstring).
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(WRITE_WAIT_S * 1000)}")
        cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        cur.execute("PRAGMA synchronous=NORMAL")
        # Erased personal data must not linger in free pages or freed cells of the file.
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # a checkpoint (`compact`) must run outside any transaction
        write = options.get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """Owns the engine; hands out sessions for reading and for read-then-write transactions."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.is_sqlite = url.startswith("sqlite")
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.engine.execution_options(**{_WRITE: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time: queue this process's writers here (see docstring).
        self._write_lock = WriteLock() if self.is_sqlite else None
        self._writer: asyncio.Task[Any] | None = None
        self._group: list[tuple[Write, asyncio.Future[Any]]] = []
        self._group_task: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; nothing is committed."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def transaction(self, urgent: bool = False) -> AsyncIterator[AsyncSession]:
        """One read-then-write transaction: committed on success, rolled back on any error.
        `urgent`: a person is waiting for it; queued before background writers (SQLite)."""
        if self._write_lock is None:
            async with self._write() as session, session.begin():
                yield session
            return
        task = asyncio.current_task()
        if task is not None and task is self._writer:
            # It would wait for itself; on SQLite it always did (BEGIN IMMEDIATE, then timeout).
            raise RuntimeError("a write transaction inside another one in the same task")
        try:
            # As long as SQLite's own busy_timeout, so a stuck writer still fails, not hangs.
            await asyncio.wait_for(self._write_lock.acquire(urgent), WRITE_WAIT_S)
        except TimeoutError:
            raise RuntimeError(f"no write transaction free for {WRITE_WAIT_S:.0f} s") from None
        self._writer = task
        try:
            async with self._write() as session, session.begin():
                yield session
        finally:
            self._writer = None
            self._write_lock.release()

    async def grouped(self, write: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """`write(session)` in a write transaction shared with the other grouped writes queued
        meanwhile; returns once that transaction has committed. Writes must be independent of
        each other: when the shared transaction fails, each runs again alone, so one bad write
        fails only its own caller. Urgent: these are short, and a waiting person's reply needs
        its claim and mark."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._group.append((write, future))
        if self._group_task is None or self._group_task.done():
            self._group_task = asyncio.create_task(self._commit_groups(), name="db-group-commit")
        return await future

    async def _commit_groups(self) -> None:
        while self._group:
            batch: list[tuple[Write, asyncio.Future[Any]]] = []
            try:
                async with self.transaction(urgent=True) as session:
                    # Taken after the write lock: everything queued while we waited goes too.
                    batch, self._group = self._group, []
                    results = [await write(session) for write, _ in batch]
            except BaseException as exc:
                if not isinstance(exc, Exception):  # cancelled: no caller may wait forever
                    for _, future in [*batch, *self._group]:
                        if not future.done():
                            future.cancel()
                    raise
                if not batch:  # no transaction at all (database down): each caller hears it
                    batch, self._group = self._group, []
                await self._one_by_one(batch)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():  # the caller may have given up meanwhile
                    future.set_result(result)

    async def _one_by_one(self, batch: list[tuple[Write, asyncio.Future[Any]]]) -> None:
        for write, future in batch:
            try:
                async with self.transaction(urgent=True) as session:
                    result = await write(session)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)

    async def create_all(self) -> None:
        """Create tables from the models (tests); production runs `homecare db upgrade`."""
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)

    async def drop_all(self) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(Base.metadata.drop_all)

    async def compact(self) -> bool:
        """SQLite: copy the WAL into the file and empty it, so erased rows' old page images
        are gone from the `-wal` file too (secure_delete already zeroes them in the file).
        False when a reader kept part of the WAL (the next call finishes it)."""
        if not self.is_sqlite:
            return True  # PostgreSQL: autovacuum reclaims dead rows
        async with self.engine.connect() as plain:
            conn = await plain.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        return not row[0]  # (busy, wal frames, checkpointed frames)

    async def dispose(self) -> None:
        await self.engine.dispose()
