"""Fixtures for the head's tests: a clinic head on the sandbox, nurses, and a CLI runner."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import HomecareApp
from bot.guard import FloodControl
from db.models import Account
from tests.head import factory
from tests.support import TEST_TOKEN, database_url

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Person:
    user: Any  # sandbox.client.SandboxUser
    account: Account


@pytest.fixture
def patient_flood(app: HomecareApp) -> None:
    """Story tests here send many updates from one person; the per-account flood control is
    tested elsewhere, so it is widened for these."""
    app.flood = FloodControl(burst=100_000, per_second=1000.0)


@pytest.fixture
async def make_person(app: HomecareApp, client: Any) -> Callable[..., Any]:
    app.flood = FloodControl(burst=100_000, per_second=1000.0)

    async def make(name: str, *roles: str, language: str = "id") -> Person:
        user = await client.user(name, language_code=language)
        async with app.db.transaction() as s:
            acc = await factory.account(
                s, user.id, user.first_name, roles, app.clinic_id, language=language
            )
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
