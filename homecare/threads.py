"""CPU work in a worker thread that leaves the event loop its turns.

A thread running pure Python (the plan's rows, the solver's Python parts) keeps the GIL until
another thread asks for it and the switch interval (5 ms by default) has passed. The event loop
gives the GIL up at every poll and every hop to aiosqlite's thread, so each of the dozens of
steps of a person's /help waited up to 5 ms again: ~0.2 s per /help while the plan's rows were
built (bench/plan_loop.py). While such work runs, the interval is 0.5 ms; it costs nothing when
no other thread wants the GIL, and the old value comes back when the last such call ends.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

SWITCH_INTERVAL_S = 0.0005
_running = 0
_saved = sys.getswitchinterval()


async def cpu_in_thread(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`asyncio.to_thread(fn, …)` with the short switch interval while it runs."""
    global _running, _saved
    if _running == 0:
        _saved = sys.getswitchinterval()
        sys.setswitchinterval(min(_saved, SWITCH_INTERVAL_S))
    _running += 1
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    finally:
        _running -= 1
        if _running == 0:
            sys.setswitchinterval(_saved)
