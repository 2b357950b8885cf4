"""Fixtures for the sandbox's own tests: a fresh server, a control client and PTB bots on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from sandbox.client import SandboxClient
from sandbox.server import SandboxServer

TOKEN = "123456789:TEST-token-for-the-sandbox-0000"


class FakeClock:
    """A monotonic clock the test moves by hand (rate-limit buckets refill without sleeping)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


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


def make_bot(server: SandboxServer, token: str = TOKEN, **request_kwargs: Any) -> Bot:
    """A PTB Bot on the sandbox, exactly as the project's bot is configured (base_url only)."""
    kwargs: dict[str, Any] = {}
    if request_kwargs:
        kwargs["request"] = HTTPXRequest(**request_kwargs)
    return Bot(
        token,
        base_url=server.bot_api_base_url,
        base_file_url=server.bot_api_file_url,
        **kwargs,
    )


@pytest.fixture
async def bot(server: SandboxServer) -> AsyncIterator[Bot]:
    b = make_bot(server, connection_pool_size=16)
    async with b:
        yield b


@pytest.fixture
def bot_factory(server: SandboxServer) -> Callable[..., Bot]:
    return lambda **kwargs: make_bot(server, **kwargs)
