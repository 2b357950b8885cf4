"""Webhook delivery as Telegram does it: POST each pending update to the bot's URL.

One update at a time (the oldest first; the next only after a 2xx), with
``X-Telegram-Bot-Api-Secret-Token`` when setWebhook gave a secret. A non-2xx answer, a refused
or dropped connection or a timeout is recorded as ``last_error_date``/``last_error_message``
(getWebhookInfo) and retried after a backoff that doubles up to a cap; the update stays pending
until it is delivered. A new setWebhook or deleteWebhook ends the backoff at once.

Telegram's real backoff is unpublished (minutes, at worst); here it is a constructor argument so
tests can use milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp

from sandbox.policy import Stats
from sandbox.state import World

_LOGGER = logging.getLogger("sandbox.webhook")
_FOREVER = 3600.0


class WebhookPusher:
    """The delivery loop of one sandbox server (one bot)."""

    def __init__(
        self,
        world: World,
        stats: Stats,
        *,
        backoff_s: float = 1.0,
        backoff_cap_s: float = 60.0,
        timeout_s: float = 60.0,
    ) -> None:
        self.world = world
        self.stats = stats
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.timeout_s = timeout_s
        self._task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.timeout_s),
            # Telegram opens its own connections; no proxy settings from the environment.
            trust_env=False,
        )
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _run(self) -> None:
        world = self.world
        delay = self.backoff_s
        while True:
            await world.notifier.wait_for(self._due, _FOREVER)
            if world.notifier.closed:
                return
            if not self._due():
                continue
            hook = world.webhook
            update = world.updates[0]
            error = await self._post(hook.url, hook.secret_token, update)
            if error is None:
                world.forget_update(update["update_id"])
                hook.delivered += 1
                self.stats.count("webhook", "delivered")
                delay = self.backoff_s
                world.notifier.notify()  # a test may wait for the queue to drain
                continue
            hook.last_error_date = world.now()
            hook.last_error_message = error
            self.stats.count("webhook", "failed")
            _LOGGER.debug("webhook delivery of %s failed: %s", update["update_id"], error)
            await world.notifier.wait_for(self._changed(hook.generation), delay)
            delay = min(delay * 2, self.backoff_cap_s)

    def _due(self) -> bool:
        return bool(self.world.webhook.url and self.world.updates)

    def _changed(self, generation: int) -> Callable[[], bool]:
        return lambda: self.world.webhook.generation != generation

    async def _post(self, url: str, secret: str, update: dict[str, Any]) -> str | None:
        """None when the bot answered 2xx, else Telegram's wording of what went wrong."""
        assert self._session is not None
        headers = {"Content-Type": "application/json"}
        if secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        try:
            async with self._session.post(
                url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers
            ) as response:
                await response.read()
                if 200 <= response.status < 300:
                    return None
                return f"Wrong response from the webhook: {response.status} {response.reason}"
        except TimeoutError:
            return "Read timeout expired"
        except aiohttp.ClientConnectorError:
            return "Connection refused"
        except aiohttp.ClientError as exc:
            return f"Connection failed: {type(exc).__name__}"
