"""Fixtures for the head's tests: a fixed clinic clock, a clinic head on the sandbox, people with
roles, and a CLI runner.

The shared `app` fixture is re-declared to start the clock before the app (its jobs then see the
handlers' time), to speed up delivery, and to lift the per-account flood limit (these stories
send many updates from one person; flood control has its own tests).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.app import HomecareApp, build_application
from bot.guard import FloodControl
from db.models import Account
from db.session import Database
from homecare.config import Config
from tests.head import factory
from tests.support import TEST_TOKEN, database_url

ROOT = Path(__file__).resolve().parents[2]
# Monday, half past ten in Makassar: a working day under way.
NOW = datetime(2026, 11, 30, 10, 30, tzinfo=ZoneInfo("Asia/Makassar"))


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller | None]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def config(make_config: Callable[..., Config], sandbox: Any) -> Config:
    cfg = make_config(sandbox)
    fast = dataclasses.replace(
        cfg.delivery, per_chat_interval_s=0.01, per_chat_burst=100, global_burst=100
    )
    return cfg.replace(delivery=fast)


@pytest.fixture
async def app(
    config: Config, database: Database, clock: time_machine.Traveller | None
) -> AsyncIterator[HomecareApp]:
    hc = build_application(config, db=database)
    hc.flood = FloodControl(burst=100_000, per_second=100_000.0)
    await hc.start()
    yield hc
    await hc.stop()


@dataclass
class Person:
    user: Any  # sandbox.client.SandboxUser
    account: Account


@pytest.fixture
async def make_person(app: HomecareApp, client: Any) -> Callable[..., Any]:
    async def make(name: str, *roles: str, language: str = "id", started: bool = True) -> Person:
        """A sandbox user with an account holding `roles`; `started`: the person has opened
        the chat with /start (Telegram refuses bot messages to anyone who never did)."""
        user = await client.user(name, language_code=language)
        async with app.db.transaction() as s:
            acc = await factory.account(
                s, user.id, user.first_name, roles, app.clinic_id, language=language
            )
        if started:
            await user.send("/start")
            await user.wait_message()
            await user.mark_read()
        return Person(user, acc)

    return make


@pytest.fixture
async def head(make_person: Callable[..., Any]) -> Person:
    person: Person = await make_person("kepala", "head")
    return person


@pytest.fixture
def write_config(tmp_path: Path, sandbox: Any) -> Callable[..., Path]:
    """A config.toml for the CLI: the test database, and the sandbox as Telegram."""

    def write(with_token: bool = True) -> Path:
        lines = ["[database]", f'url = "{database_url(tmp_path)}"']
        if with_token:
            lines += [
                "[telegram]",
                f'token = "{TEST_TOKEN}"',
                f'base_url = "{sandbox.bot_api_base_url}"',
            ]
        path = tmp_path / "config.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


def run_cli(config: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`homecare --config <config> <args>` in a child process (real exit codes and output)."""
    return subprocess.run(
        [sys.executable, "-m", "homecare.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=120,
        check=False,
    )


async def wait_menu(client: Any, chat_id: int, has: set[str], seconds: float = 10.0) -> set[str]:
    """The chat's command menu once it contains `has` (menus are sent after the reply that
    queued them, so a test waits for them rather than reading at once)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        menu = {c["command"] for c in (await client.chat(chat_id))["commands"]}
        if has <= menu or loop.time() > deadline:
            return menu
        await asyncio.sleep(0.05)
