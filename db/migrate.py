"""Schema migrations with Alembic, driven from Python (`homecare db upgrade|downgrade|current`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    return cfg


class ForeignKeysBroken(RuntimeError):
    """A migration left rows pointing at rows that are not there; it was rolled back."""


async def _with_connection(engine: AsyncEngine, fn: Any, *args: Any) -> Any:
    if engine.dialect.name != "sqlite":
        async with engine.begin() as conn:
            return await conn.run_sync(fn, *args)
    # SQLite's ALTER rebuilds a table (batch mode: copy, DROP, rename). With foreign keys on,
    # that DROP deletes or nulls every row pointing at the table (ON DELETE CASCADE / SET NULL):
    # rebuilding `visits` would erase its reminders, history and feedback. So migrations run on
    # a connection with foreign keys off (it can only be switched outside a transaction), and
    # the keys are checked before the commit, as SQLite's documentation for ALTER advises.
    from db.session import create_engine

    own = create_engine(engine.url.render_as_string(hide_password=False), foreign_keys=False)
    try:
        async with own.begin() as conn:
            result = await conn.run_sync(fn, *args)
            broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).fetchall()
            if broken:
                raise ForeignKeysBroken(f"rows point at missing rows: {broken[:5]}")
            return result
    finally:
        await own.dispose()


def _command(connection: Connection, name: str, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    getattr(command, name)(cfg, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _with_connection(engine, _command, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _with_connection(engine, _command, "downgrade", revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current(engine: AsyncEngine) -> str | None:
    result: str | None = await _with_connection(engine, _current)
    return result


def head() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
