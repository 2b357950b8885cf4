"""Whether a `homecare run` is using a database, for `homecare restore` to refuse.

`homecare run` holds a *shared* lock for as long as it runs; `restore` takes the same lock
*exclusively* (without waiting) and keeps it while it replaces the data, so it sees any running
bot and a bot started meanwhile refuses to start. The operating system or the database server
drops the lock when its holder dies (SIGKILL, power cut included), so a stale lock cannot
remain and there is no pid file to clean up. Several bots on one database do not block each
other (the lock is shared).

- SQLite: `flock` on the file `<database>.run-lock` beside the database (same machine only,
  which is the only way SQLite is shared safely anyway).
- PostgreSQL: a session-level advisory lock in the database, held on one dedicated
  connection: it works from any machine. If that connection drops (server restart), the lock
  is gone until the bot restarts; a restore in that window would not see the bot.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

# Any constant different from the audit append lock (db/services/audit.py): "hc-run".
PG_RUN_LOCK_KEY = 0x68632D72756E
SUFFIX = ".run-lock"


def sqlite_file(url: str) -> Path | None:
    """The SQLite database file of `url`; None for PostgreSQL or an in-memory database."""
    u = make_url(url)
    if not u.drivername.startswith("sqlite"):
        return None
    if not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


class RunLock:
    """One held lock (shared by a bot, or exclusive by a restore); `release()` lets it go."""

    def __init__(
        self,
        fd: int | None = None,
        engine: AsyncEngine | None = None,
        conn: AsyncConnection | None = None,
    ) -> None:
        self._fd, self._engine, self._conn = fd, engine, conn

    async def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file drops the flock
            self._fd = None
        if self._conn is not None:
            await self._conn.close()  # ending the session drops the advisory lock
            self._conn = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None


def _flock(path: Path, exclusive: bool) -> int | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


async def _advisory(url: str, exclusive: bool) -> RunLock | None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        conn = await engine.connect()
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        fn = "pg_try_advisory_lock" if exclusive else "pg_try_advisory_lock_shared"
        got = await conn.scalar(text(f"SELECT {fn}(:k)"), {"k": PG_RUN_LOCK_KEY})
    except BaseException:
        await engine.dispose()
        raise
    if not got:
        await conn.close()
        await engine.dispose()
        return None
    return RunLock(engine=engine, conn=conn)


async def acquire(url: str, *, exclusive: bool) -> RunLock | None:
    """The lock, or None when it is held the other way (a bot runs / a restore runs)."""
    path = sqlite_file(url)
    if path is not None:
        fd = _flock(path.with_name(path.name + SUFFIX), exclusive)
        return None if fd is None else RunLock(fd=fd)
    if url.startswith("sqlite"):
        return RunLock()  # in memory: nobody else can reach it
    return await _advisory(url, exclusive)


@asynccontextmanager
async def held(url: str, *, exclusive: bool) -> AsyncIterator[bool]:
    """`async with held(url, exclusive=True) as free:` — free is False when it is taken."""
    lock = await acquire(url, exclusive=exclusive)
    try:
        yield lock is not None
    finally:
        if lock is not None:
            await lock.release()
