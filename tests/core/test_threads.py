"""homecare.threads.cpu_in_thread: the short GIL switch interval while work runs, the old one back
after the last call ends (also when it raises)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from homecare import threads


async def test_the_switch_interval_is_short_while_cpu_work_runs_and_restored_after() -> None:
    before = sys.getswitchinterval()
    seen: list[float] = []

    def work() -> int:
        seen.append(sys.getswitchinterval())
        return 7

    async def nested() -> int:
        return await threads.cpu_in_thread(work)

    results = await asyncio.gather(threads.cpu_in_thread(work), nested())
    assert results == [7, 7]
    assert seen == [threads.SWITCH_INTERVAL_S] * 2
    assert sys.getswitchinterval() == before

    def fails() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        await threads.cpu_in_thread(fails)
    assert sys.getswitchinterval() == before
