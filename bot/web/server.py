"""The console's HTTP server: uvicorn serving the ASGI app on the bot's own event loop.

PTB's documented pattern for a custom web server next to the bot: no second process or thread,
so pages and the bot share the database engine and its in-process write lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import uvicorn

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The bot handles SIGINT/SIGTERM (homecare.cli) and stops this server itself.
        yield


class WebServer:
    def __init__(self, asgi_app: Any, host: str, port: int) -> None:
        self._config = uvicorn.Config(
            asgi_app,
            host=host,
            port=port,
            # Login links carry their secret in the query: no access log, which would keep it.
            access_log=False,
            log_config=None,
            lifespan="off",
            server_header=False,
        )
        self._server = _Server(self._config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Start serving; returns the port (the chosen one when asked for port 0)."""
        self._task = asyncio.create_task(self._server.serve(), name="web-console")
        while not self._server.started:
            if self._task.done():
                self._task.result()  # raises why it could not start (port in use, …)
                raise RuntimeError("the web console stopped while starting")
            await asyncio.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        port = int(sockets[0].getsockname()[1])
        log.info("web console listening on %s:%d", self._config.host, port)
        return port

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        try:
            await asyncio.wait_for(self._task, timeout=5.0)
        except TimeoutError:
            self._task.cancel()
        self._task = None
