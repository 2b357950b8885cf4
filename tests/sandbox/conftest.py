"""Fixtures for the sandbox's own tests: a fresh server, a control client and PTB bots on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Bot

from sandbox.client import SandboxClient
from sandbox.server import SandboxServer
from tests.sandbox.helpers import FakeClock, make_bot

# The browser chat's tests drive the same Debian chromium as the web console's.
from tests.web import conftest as web

PHONE = web.PHONE
browser = web.browser


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def server(clock: FakeClock) -> AsyncIterator[SandboxServer]:
    srv = SandboxServer(clock=clock)
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def api(server: SandboxServer) -> AsyncIterator[SandboxClient]:
    client = SandboxClient(server.url)
    yield client
    await client.close()


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    b = make_bot(server, connection_pool_size=16)
    async with b:
        yield b


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    """A fresh browser context at phone width (the chat is built phone first)."""
    context = await browser.new_context(viewport=PHONE)
    try:
        yield await context.new_page()
    finally:
        await context.close()
