"""Copying a whole database to a file and back (`homecare backup` / `homecare restore`).

- SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page in one step
  from one read snapshot. In WAL mode a reader never blocks the writers, so the running bot
  keeps booking while the copy is taken, and the copy holds exactly the transactions
  committed before the snapshot. The copy is switched to `journal_mode=DELETE`: one file.
- PostgreSQL: `pg_dump -Fc` (custom format; it reads inside one repeatable-read snapshot,
  so a dump taken while the bot writes is consistent too) and `pg_restore`.

A backup file is a plain SQLite database or a pg_dump archive (tools other than homecare can
read it), or either of them encrypted (`homecare/backup_crypto.py`). The schema revision is
read from the `alembic_version` table inside it.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from db import migrate
from db.run_lock import sqlite_file
from db.session import create_engine
from homecare.errors import BackupError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
SQLITE, POSTGRESQL = "SQLite", "PostgreSQL"
PG_TIMEOUT_S = 3600


def kind_of_url(url: str) -> str:
    return SQLITE if url.startswith("sqlite") else POSTGRESQL


def kind_of_file(head: bytes) -> str:
    if head.startswith(SQLITE_MAGIC):
        return SQLITE
    if head.startswith(PGDUMP_MAGIC):
        return POSTGRESQL
    raise BackupError("the file is not a homecare backup (neither SQLite nor a pg_dump archive)")


def private_file(path: Path) -> None:
    """Backups hold health data: readable by the owner only."""
    os.chmod(path, 0o600)


# --- SQLite --------------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    path = sqlite_file(url)
    if path is None:
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return path


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)


def sqlite_copy(source: Path, dest: Path) -> None:
    """Page-by-page copy with the backup API; `dest` is made a single self-contained file."""
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(dest, timeout=30)
            try:
                # pages=-1: all in one step, so the copy is one snapshot. In steps, every write
                # by the bot between two steps would restart the copy.
                src.backup(dst, pages=-1)
                dst.execute("PRAGMA journal_mode=DELETE")  # the copy: one file, no -wal
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy {source}: {exc}") from None


def sqlite_backup(url: str, out: Path) -> None:
    source = _sqlite_path(url)
    if not source.exists():
        raise BackupError(f"the database file {source} does not exist")
    sqlite_copy(source, out)


def sqlite_restore(plain: Path, url: str) -> None:
    """Replace the target database's content with the backup's (the backup API again, so the
    target file keeps its name, permissions and WAL mode)."""
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = _read_only(plain)  # the operator's backup file is never written to
        try:
            dst = sqlite3.connect(target, timeout=30)
            try:
                _sqlite_replace(src, dst)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not restore into {target}: {exc}") from None


def _sqlite_replace(src: sqlite3.Connection, dst: sqlite3.Connection) -> None:
    wal = dst.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    same_pages = (
        src.execute("PRAGMA page_size").fetchone()[0]
        == dst.execute("PRAGMA page_size").fetchone()[0]
    )
    if wal and not same_pages:
        # A WAL database cannot change its page size under the copy. Leaving WAL needs every
        # other connection closed, so this is done only when it must be.
        dst.execute("PRAGMA journal_mode=DELETE")
        wal = False
    src.backup(dst, pages=-1)
    if not wal:
        dst.execute("PRAGMA journal_mode=WAL")  # as the bot opens it (db/session.py)
    problem = dst.execute("PRAGMA quick_check").fetchone()[0]
    if problem != "ok":
        raise BackupError(f"the restored database fails SQLite's check: {problem}")


def sqlite_revision(plain: Path) -> str | None:
    conn = _read_only(plain)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


# --- PostgreSQL ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PgTarget:
    args: list[str]  # -h HOST -p PORT -U USER -d DB
    env: dict[str, str]  # PGPASSWORD: never on the command line (it would show in `ps`)


def pg_target(url: str) -> PgTarget:
    u = make_url(url)
    args: list[str] = []
    if u.host:
        args += ["-h", u.host]
    if u.port:
        args += ["-p", str(u.port)]
    if u.username:
        args += ["-U", u.username]
    args += ["-d", u.database or ""]
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    return PgTarget(args, env)


def pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"`{name}` is not installed: PostgreSQL backups need the PostgreSQL client tools "
            "(Debian: apt-get install postgresql-client), of the server's major version or newer"
        )
    return found


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    try:
        done = subprocess.run(
            argv, env=env, capture_output=True, text=True, timeout=PG_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired:
        raise BackupError(f"{what} did not finish in {PG_TIMEOUT_S} s") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise BackupError(f"{what} failed: {last}")
    return done.stdout


def pg_backup(url: str, out: Path) -> None:
    t = pg_target(url)
    _run([pg_tool("pg_dump"), "-Fc", "--no-password", "-f", str(out), *t.args], t.env, "pg_dump")


def pg_revision(dump: Path) -> str | None:
    """The `alembic_version` row inside a pg_dump archive (pg_restore prints its COPY data)."""
    argv = [pg_tool("pg_restore"), "--data-only", "--table=alembic_version", "-f", "-", str(dump)]
    out = _run(argv, dict(os.environ), "reading the backup with pg_restore")
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("COPY ") and "alembic_version" in line:
            value = lines[i + 1] if i + 1 < len(lines) else "\\."
            return None if value == "\\." else value.strip()
    return None


def _drop_tables(connection: Connection) -> None:
    for name in inspect(connection).get_table_names():
        connection.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))


async def pg_restore(dump: Path, url: str) -> None:
    # --clean drops only what the archive has; tables of another schema revision would stay and
    # break the next `db upgrade`. The target was checked empty (or --force): drop every table.
    tool = pg_tool("pg_restore")
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_drop_tables)
    finally:
        await engine.dispose()
    t = pg_target(url)
    argv = [tool, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--no-password"]
    argv += ["--single-transaction", "--exit-on-error", *t.args, str(dump)]
    _run(argv, t.env, "pg_restore")


# --- both ----------------------------------------------------------------------------------------


def _row_counts(connection: Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in inspect(connection).get_table_names():
        counts[name] = connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    return counts


async def row_counts(url: str) -> dict[str, int]:
    """Rows per table (every table in the database, `alembic_version` included)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_row_counts)
    finally:
        await engine.dispose()


async def rows_in_use(url: str) -> int:
    """How many rows the target holds outside `alembic_version` (0: empty or schema only)."""
    if url.startswith("sqlite") and not _sqlite_path(url).exists():
        return 0
    counts = await row_counts(url)
    return sum(n for name, n in counts.items() if name != "alembic_version")


def check_revision(revision: str | None) -> str:
    """'current' or 'older' for a backup this code can restore; BackupError otherwise."""
    if revision is None:
        raise BackupError("the backup has no schema revision: it is not a homecare database")
    head = migrate.head()
    if revision == head:
        return "current"
    script = ScriptDirectory.from_config(migrate.alembic_config())
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(
            f"the backup's schema revision {revision} is not known to this version of homecare "
            f"(head {head}): it was made by a newer version; install that version to restore it"
        )
    return "older"
