"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when
HOMECARE_TEST_DATABASE_URL is set — `make test` runs the suite once on each)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from db.session import Database

PG_URL = os.environ.get("HOMECARE_TEST_DATABASE_URL", "")


def database_url(tmp_path: Path) -> str:
    return PG_URL or f"sqlite+aiosqlite:///{tmp_path}/homecare-test.db"


async def reset_schema(db: Database) -> None:
    """An empty database: PostgreSQL's public schema is recreated; a new SQLite file is empty."""
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture
async def empty_database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(database_url(tmp_path))
    await reset_schema(db)
    yield db
    await db.dispose()


@pytest.fixture
async def database(empty_database: Database) -> AsyncIterator[Database]:
    await empty_database.create_all()
    yield empty_database
