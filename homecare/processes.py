"""CPU-heavy pure work (the visit planner's solve) in a child process.

PyVRP's search holds the GIL through long native calls, so in a worker thread it still stalls
the event loop: people's /help waited up to ~1 s while a day was solved. A child process has its
own interpreter. One pool per process, created at first use and shared by every app in it (tests
build many); its children come from a fork server, not a fork of this multi-threaded process
(aiosqlite, uvicorn threads), with the planner imported once there. Arguments and results are
plain dataclasses (scheduler.planner.model), so they pickle cheaply.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")

# Imported once in the fork server, so each child starts with the planner loaded.
PRELOAD = ["scheduler.planner.solver", "scheduler.planner.replan"]

_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        # Two cores are common; more children than that would only compete for them.
        _pool = ProcessPoolExecutor(max_workers=min(2, os.cpu_count() or 1), mp_context=context)
    return _pool


def _forget_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None


async def run_in_process(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a child process; `fn` must be a module-level function."""
    loop = asyncio.get_running_loop()
    call = functools.partial(fn, *args, **kwargs)
    try:
        return await loop.run_in_executor(_executor(), call)
    except BrokenProcessPool:
        # A child died (killed, out of memory): start afresh and try this call once more.
        _forget_pool()
        return await loop.run_in_executor(_executor(), call)
