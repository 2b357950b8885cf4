"""Rate-limit buckets and fault rules, driven by a fake clock and fixed seeds."""

from __future__ import annotations

import pytest

from sandbox.policy import Fault, FaultInjector, RateLimiter, RateLimits, Stats
from tests.sandbox.helpers import FakeClock


def test_rate_limits_are_off_by_default() -> None:
    limiter = RateLimiter(RateLimits(), FakeClock())
    assert all(limiter.acquire(1) is None for _ in range(100))


def test_per_chat_bucket_allows_a_burst_then_reports_retry_after() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(enabled=True, per_chat_rate=1.0, per_chat_burst=3), clock)
    assert [limiter.acquire(7) for _ in range(3)] == [None, None, None]
    assert limiter.acquire(7) == 1
    assert limiter.acquire(8) is None  # another chat has its own bucket
    clock.advance(1.0)
    assert limiter.acquire(7) is None
    assert limiter.acquire(7) == 1


def test_retry_after_is_rounded_up_from_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter(RateLimits(enabled=True, per_chat_rate=0.2, per_chat_burst=1), clock)
    assert limiter.acquire(1) is None
    assert limiter.acquire(1) == 5
    clock.advance(2.5)
    assert limiter.acquire(1) == 3


def test_global_bucket_limits_all_chats_together() -> None:
    clock = FakeClock()
    limits = RateLimits(enabled=True, per_chat_burst=5, global_rate=30.0, global_burst=30)
    limiter = RateLimiter(limits, clock)
    results = [limiter.acquire(chat) for chat in range(31)]
    assert results[:30] == [None] * 30
    assert results[30] == 1
    clock.advance(1 / 30)
    assert limiter.acquire(99) is None


def test_rate_limits_from_dict_validates() -> None:
    assert RateLimits.from_dict({"per_chat_burst": 2}).enabled is True
    with pytest.raises(ValueError, match="unknown"):
        RateLimits.from_dict({"burst": 2})
    with pytest.raises(ValueError):
        RateLimits.from_dict({"global_rate": 0})


def test_fault_with_seed_is_repeatable_and_probability_is_respected() -> None:
    def run(seed: int) -> list[bool]:
        injector = FaultInjector([Fault("server_error", probability=0.3)], seed)
        return [injector.pick("sendMessage") is not None for _ in range(200)]

    first = run(42)
    assert first == run(42)
    assert first != run(43)
    assert 30 <= sum(first) <= 90  # 0.3 of 200 with a wide margin: the RNG is fixed anyway


def test_fault_times_and_method_matching() -> None:
    rule = Fault("reset", methods=frozenset({"sendMessage", "SENDPHOTO"}), times=2)
    injector = FaultInjector([rule])
    assert injector.pick("getUpdates") is None
    assert injector.pick("sendphoto") is rule
    assert injector.pick("sendMessage") is rule
    assert injector.pick("sendMessage") is None
    assert rule.injected == 2


def test_fault_wildcard_and_first_match_wins() -> None:
    first = Fault("retry_after", methods=frozenset({"sendMessage"}), times=1)
    every = Fault("bad_gateway", methods=frozenset({"*"}))
    injector = FaultInjector([first, every])
    assert injector.pick("sendMessage") is first
    assert injector.pick("sendMessage") is every
    assert injector.pick("getMe") is every


def test_fault_from_dict_validates() -> None:
    rule = Fault.from_dict({"kind": "stall", "methods": "sendMessage", "stall_seconds": 3})
    assert rule.methods == frozenset({"sendmessage"})
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault.from_dict({"kind": "explode"})
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_dict({"kind": "reset", "when": "now"})
    with pytest.raises(ValueError):
        Fault.from_dict({"kind": "reset", "probability": 2})


def test_stats_totals() -> None:
    stats = Stats()
    stats.count("sendMessage", "ok")
    stats.count("sendMessage", "rate_limited")
    stats.count("getMe", "ok")
    assert stats.to_dict() == {
        "methods": {"getMe": {"ok": 1}, "sendMessage": {"ok": 1, "rate_limited": 1}},
        "totals": {"ok": 2, "rate_limited": 1},
        "calls": 3,
    }
