"""Helpers shared by the sandbox's tests (import as `tests.sandbox.helpers`)."""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.request import HTTPXRequest

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
