"""Migrations: upgrade from empty, downgrade, upgrade again; and the migrations equal the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from db import migrate
from db.models import Base
from db.session import Database


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


async def test_upgrade_downgrade_upgrade(empty_database: Database) -> None:
    engine = empty_database.engine
    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.head()
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set(Base.metadata.tables)
        # The schema the migrations build is exactly the models' schema.
        assert await conn.run_sync(_diff) == []

    await migrate.downgrade(engine, "base")
    assert await migrate.current(engine) is None
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set()

    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.head()
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set(Base.metadata.tables)


def test_one_head() -> None:
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
