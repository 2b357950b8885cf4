"""Migrations: upgrade from empty, downgrade, upgrade again; and the migrations equal the models."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
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


# --- a database the first release made, with data in it -------------------------------------

FIRST_RELEASE = "0001"
# Values the first release's CHECK constraints accept; every other column gets a plain value.
KNOWN_VALUES = {
    ("account_roles", "role"): "head",
    ("patient_links", "relation"): "self",
    ("feedback", "rating"): 4,
}


def _plain_value(table: str, column: Any) -> Any:
    if (table, column.name) in KNOWN_VALUES:
        return KNOWN_VALUES[(table, column.name)]
    if column.foreign_keys:
        return 1  # every table holds one row, id 1
    kind = column.type
    if isinstance(kind, sa.Enum):
        return kind.enums[0]
    python = kind.python_type if not isinstance(kind, sa.JSON) else dict
    if python is bool:
        return False
    if python is int:
        return 1
    if python is float:
        return 1.5
    if python is str:
        length = getattr(kind, "length", None) or 40
        return f"{table}.{column.name}"[:length]
    if python is datetime:
        return datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    if python is date:
        return date(2026, 3, 2)
    if python is time:
        return time(8, 0)
    if python is dict:
        return {"kept": table}
    if python is bytes:
        return b"\x00kept"
    raise AssertionError(f"no plain value for {table}.{column.name} ({kind!r})")


def _fill_every_table(conn: Connection) -> dict[str, int]:
    meta = sa.MetaData()
    meta.reflect(conn)
    counts = {}
    for table in meta.sorted_tables:
        if table.name == "alembic_version":
            continue
        row = {}
        for column in table.columns:
            auto_id = column.primary_key and column.name == "id" and not column.foreign_keys
            if not auto_id:
                row[column.name] = _plain_value(table.name, column)
        conn.execute(table.insert(), [row])
        counts[table.name] = 1
    return counts


def _counts(conn: Connection, names: set[str]) -> dict[str, int]:
    meta = sa.MetaData()
    meta.reflect(conn, only=sorted(names))
    return {
        n: conn.execute(sa.select(sa.func.count()).select_from(meta.tables[n])).scalar_one()
        for n in names
    }


async def test_a_first_release_database_with_data_upgrades_and_reads(
    empty_database: Database,
) -> None:
    engine = empty_database.engine
    await migrate.upgrade(engine, FIRST_RELEASE)
    async with engine.begin() as conn:
        before = await conn.run_sync(_fill_every_table)
    assert len(before) >= 20, before
    async with engine.connect() as conn:
        old_columns = await conn.run_sync(
            lambda c: {n: {col["name"] for col in sa.inspect(c).get_columns(n)} for n in before}
        )

    await migrate.upgrade(engine)
    assert await migrate.current(engine) == migrate.head()
    async with engine.connect() as conn:
        assert await conn.run_sync(_counts, set(before)) == before
        assert await conn.run_sync(_diff) == []
    # Today's models read every old row, every column (types, aware datetimes, JSON).
    async with empty_database.read() as session:
        for mapper in Base.registry.mappers:
            model = mapper.class_
            if model.__table__.name not in before:
                continue
            rows = list(await session.scalars(sa.select(model)))
            assert len(rows) == 1, model
            # No reference was cut (a rebuilt parent table with ON DELETE SET NULL would).
            for column in model.__table__.columns:
                if column.foreign_keys and column.name in old_columns[model.__table__.name]:
                    assert getattr(rows[0], mapper.get_property_by_column(column).key) == 1, (
                        model,
                        column.name,
                    )
            for attribute in mapper.column_attrs:
                moment = getattr(rows[0], attribute.key)
                if isinstance(moment, datetime):
                    assert moment.tzinfo is not None, (model, attribute.key)
