"""Fixtures for the sandbox's own tests: a fresh server, a control client and PTB bots on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from sandbox.client import SandboxClient
from sandbox.server import SandboxServer
from tests.sandbox.helpers import FakeClock, make_bot


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
