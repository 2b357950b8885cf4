"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when
HOMECARE_TEST_DATABASE_URL is set — `make test` runs the suite once on each)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.app import HomecareApp, build_application
from db.session import Database
from homecare.config import Config
from tests.support import TEST_TOKEN, database_url


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


# --- story tests: the real app against the sandbox over real HTTP --------------------------


@pytest.fixture
async def sandbox() -> AsyncIterator[Any]:
    from sandbox.server import SandboxServer

    server = SandboxServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., Config]:
    """A Config for tests: demo clinic defaults, the test database, any section overridden."""

    def make(sandbox: Any = None, **sections: Any) -> Config:
        cfg = Config()
        telegram = dataclasses.replace(cfg.telegram, token=TEST_TOKEN, poll_timeout_s=5)
        if sandbox is not None:
            telegram = dataclasses.replace(telegram, base_url=sandbox.bot_api_base_url)
        cfg = cfg.replace(
            telegram=telegram,
            database=dataclasses.replace(cfg.database, url=database_url(tmp_path)),
            # The web console's tests (tests/web) switch it on, on a free port.
            web=dataclasses.replace(cfg.web, enabled=False, port=0),
        )
        return cfg.replace(**sections) if sections else cfg

    return make


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any) -> Config:
    return make_config(sandbox)


@pytest.fixture
async def app(config: Config, database: Database) -> AsyncIterator[HomecareApp]:
    """The bot, built by the same `build_application` as production, running on the sandbox."""
    hc = build_application(config, db=database)
    await hc.start()
    yield hc
    await hc.stop()


@pytest.fixture
async def client(sandbox: Any) -> AsyncIterator[Any]:
    from sandbox.client import SandboxClient

    c = SandboxClient(sandbox.url)
    yield c
    await c.close()
