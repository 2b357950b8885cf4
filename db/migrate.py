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


def _with_connection(engine: AsyncEngine, fn: Any, *args: Any) -> Any:
    async def run() -> Any:
        async with engine.begin() as conn:
            return await conn.run_sync(fn, *args)

    return run()


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
