"""The in-process queue for SQLite's one write lock, with a fast lane for people who wait.

A person's update (stored, then handled) and the relay's claim and mark of its reply are short
transactions; a plan's write and a batch of reminders are long ones, queued behind each other.
With one FIFO queue a /help that arrives after the plan committed waited for every background
batch queued before it (bench/plan_loop.py: 0.4 s after the plan's write). Here an urgent
writer is served before background writers already waiting — never before the one holding the
lock (SQLite cannot pause a transaction). So that background work cannot starve while people
keep writing, a background writer that has waited `max_bypass_s` goes first again.
"""

from __future__ import annotations

import asyncio
from collections import deque


class WriteLock:
    """An asyncio lock with two queues: urgent waiters first, FIFO within each queue."""

    def __init__(self, max_bypass_s: float = 1.0) -> None:
        self.max_bypass_s = max_bypass_s
        self._held = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._background: deque[tuple[float, asyncio.Future[None]]] = deque()

    def locked(self) -> bool:
        return self._held

    async def acquire(self, urgent: bool = False) -> None:
        if not self._held:  # a release hands over at once: free means nobody is waiting
            self._held = True
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if urgent:
            self._urgent.append(future)
        else:
            self._background.append((loop.time(), future))
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.release()  # handed over just as the waiter gave up: pass it on
            else:
                self._forget(future)
            raise

    def release(self) -> None:
        if not self._held:
            raise RuntimeError("release of a write lock that is not held")
        self._held = False
        self._hand_over()

    def _forget(self, future: asyncio.Future[None]) -> None:
        if future in self._urgent:
            self._urgent.remove(future)
        self._background = deque((t, f) for t, f in self._background if f is not future)

    def _next(self) -> asyncio.Future[None] | None:
        while self._background and self._background[0][1].done():  # gave up (timeout)
            self._background.popleft()
        while self._urgent and self._urgent[0].done():
            self._urgent.popleft()
        if self._background:
            since, _ = self._background[0]
            if not self._urgent or asyncio.get_running_loop().time() - since >= self.max_bypass_s:
                return self._background.popleft()[1]
        if self._urgent:
            return self._urgent.popleft()
        return None

    def _hand_over(self) -> None:
        future = self._next()
        if future is not None:
            self._held = True
            future.set_result(None)
