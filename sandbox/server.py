"""The sandbox HTTP server: Telegram Bot API + control API on loopback (aiohttp).

Use it in-process (tests) or as a process (``python -m sandbox --port 8081``)::

    async with SandboxServer() as server:
        bot = telegram.Bot("123456:TEST", base_url=server.bot_api_base_url,
                           base_file_url=server.bot_api_file_url)
        client = SandboxClient(server.url)
        ...

Each server owns its whole state (world, limits, faults, stats); nothing is global, so several
servers can run side by side. ``stop()`` wakes every long poll and stall at once, so shutting
down never waits for a ``getUpdates`` timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from copy import deepcopy
from types import TracebackType
from typing import Any

from aiohttp import web

from sandbox.botapi import MAX_REQUEST_BODY, BotApi, BotIdentity
from sandbox.control import ControlApi
from sandbox.policy import Fault, FaultInjector, RateLimiter, RateLimits, Stats
from sandbox.state import World
from sandbox.webchat import WebChat
from sandbox.webhook import WebhookPusher

__all__ = ["DEFAULT_TOKEN", "SandboxServer"]

#: A token in Telegram's format for demos and tests (any such token works unless ``tokens``).
DEFAULT_TOKEN = "1000000001:SANDBOX-token-for-local-use-only"


class SandboxServer:
    """A local Telegram Bot API server with a control API.

    ``tokens``: accept only these bot tokens (others get ``401 Unauthorized``); ``None`` accepts
    any well-formed token. ``limits``/``faults``: initial rate limits and fault rules (also the
    state ``POST /control/reset`` returns to). ``seed`` seeds fault injection. ``clock`` is the
    monotonic clock of the rate limiter (inject a fake one to refill buckets without sleeping).
    ``webhook_*``: the retry backoff (first wait, cap) and request timeout of webhook delivery
    (``sandbox/webhook.py``); tests shorten them.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Iterable[str] | None = None,
        limits: RateLimits | None = None,
        faults: Sequence[Fault] | None = None,
        *,
        seed: int = 0,
        bot_username: str = "homecare_sandbox_bot",
        bot_first_name: str = "Homecare (sandbox)",
        clock: Callable[[], float] = time.monotonic,
        webhook_backoff_s: float = 1.0,
        webhook_backoff_cap_s: float = 60.0,
        webhook_timeout_s: float = 60.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._initial_limits = limits or RateLimits()
        self._initial_faults = list(faults or [])
        self._seed = seed
        self.world = World(clock)
        self.stats = Stats()
        self.limiter = RateLimiter(self._initial_limits, clock)
        self.faults = FaultInjector(deepcopy(self._initial_faults), seed)
        self.identity = BotIdentity(username=bot_username, first_name=bot_first_name)
        self.botapi = BotApi(
            self.world,
            self.limiter,
            self.faults,
            self.stats,
            self.identity,
            frozenset(tokens) if tokens is not None else None,
        )
        self.control = ControlApi(
            self.world, self.botapi, self.limiter, self.faults, self.stats, self._reset_config
        )
        self.webchat = WebChat(self.control)
        self.webhook = WebhookPusher(
            self.world,
            self.stats,
            backoff_s=webhook_backoff_s,
            backoff_cap_s=webhook_backoff_cap_s,
            timeout_s=webhook_timeout_s,
        )
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    def _reset_config(self) -> None:
        self.limiter.configure(self._initial_limits)
        self.faults.configure(deepcopy(self._initial_faults), self._seed)

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BODY)
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self.botapi.handle),
                web.get("/file/bot{token}/{path:.+}", self.botapi.handle_file),
                *self.control.routes(),
                *self.webchat.routes(),
            ]
        )
        return app

    async def start(self) -> None:
        """Bind and serve; ``port=0`` picks a free port (see :attr:`port`)."""
        if self._runner is not None:
            raise RuntimeError("sandbox server already started")
        runner = web.AppRunner(
            self.make_app(),
            # A client that gives up (timeout) must not leave its handler waiting.
            handler_cancellation=True,
            shutdown_timeout=1.0,
            # The access log would print bot tokens (they are part of the URL).
            access_log=None,
        )
        self.world.notifier.closed = False  # a stopped server may be started again
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        await self.webhook.start()

    async def stop(self) -> None:
        """Stop serving; wakes all long polls, waits and stalls first. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.world.notifier.close()
        await self.webhook.stop()
        await runner.cleanup()

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("sandbox server not started")
        return self._port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8081`` (the control API is under ``/control``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def chat_url(self) -> str:
        """The browser chat (:mod:`sandbox.webchat`)."""
        return f"{self.url}/chat"

    @property
    def bot_api_base_url(self) -> str:
        """The value for PTB's ``base_url`` (PTB appends ``<token>/<method>``)."""
        return f"{self.url}/bot"

    @property
    def bot_api_file_url(self) -> str:
        """The value for PTB's ``base_file_url`` (file downloads)."""
        return f"{self.url}/file/bot"

    # -- in-process configuration ---------------------------------------------------------

    def set_limits(self, limits: RateLimits) -> None:
        self.limiter.configure(limits)

    def set_faults(self, faults: Sequence[Fault], seed: int | None = None) -> None:
        self.faults.configure(list(faults), seed)

    def snapshot_stats(self) -> dict[str, Any]:
        return self.stats.to_dict()
