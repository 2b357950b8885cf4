"""Rate limits, fault injection and statistics of the sandbox's Bot API side.

Both features are *off* by default and switchable at run time (control API or server methods):

* :class:`RateLimits` — token buckets per chat (Telegram: about one message per second in a
  private chat, with a small burst) and for the whole bot (about 30 messages per second). A
  sending method that finds a bucket empty gets ``429 Too Many Requests: retry after N`` with
  ``parameters.retry_after`` = seconds until the bucket has a token again (rounded up).
* :class:`Fault` rules — for a set of methods, a fraction of calls (``probability``, drawn from a
  seeded :class:`random.Random`, so a run is repeatable) or the next ``times`` calls are answered
  with ``429`` / ``500`` / ``502``, held for ``stall_seconds`` (then answered or dropped), or
  dropped by resetting the connection. With ``after_delivery=True`` the call takes effect first
  (the message *is* delivered) and only the response is lost or turned into an error, which is
  how a real "timed out after sending" looks to a bot.

The clock is injectable so tests can refill buckets without sleeping.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "SENDING_METHODS",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "RateLimiter",
    "RateLimits",
    "Stats",
]

# Methods that put a new message into a chat (Telegram's flood limits apply to these).
SENDING_METHODS = frozenset(
    {
        "sendmessage",
        "senddocument",
        "sendphoto",
        "sendlocation",
        "sendaudio",
        "sendvideo",
        "sendvoice",
        "sendsticker",
        "sendanimation",
        "sendcontact",
        "sendvenue",
        "sendpoll",
        "senddice",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
    }
)

FaultKind = Literal["retry_after", "server_error", "bad_gateway", "stall", "reset"]
_FAULT_KINDS: tuple[str, ...] = ("retry_after", "server_error", "bad_gateway", "stall", "reset")


@dataclass(frozen=True)
class RateLimits:
    """Flood limits; ``enabled=False`` (the default) turns them off."""

    enabled: bool = False
    per_chat_rate: float = 1.0  # tokens per second per chat
    per_chat_burst: int = 3
    global_rate: float = 30.0  # tokens per second for the bot
    global_burst: int = 30

    def to_dict(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "per_chat_rate": self.per_chat_rate,
            "per_chat_burst": self.per_chat_burst,
            "global_rate": self.global_rate,
            "global_burst": self.global_burst,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RateLimits:
        unknown = set(data) - set(cls().to_dict())
        if unknown:
            raise ValueError(f"unknown rate limit fields: {sorted(unknown)}")
        limits = replace(cls(enabled=True), **dict(data))
        if limits.per_chat_rate <= 0 or limits.global_rate <= 0:
            raise ValueError("rates must be positive")
        if limits.per_chat_burst < 1 or limits.global_burst < 1:
            raise ValueError("bursts must be at least 1")
        return limits


class _Bucket:
    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        # The epsilon absorbs float error of clock arithmetic (1000 + 1/30 - 1000 < 1/30).
        return 0.0 if self.tokens >= 1.0 - 1e-9 else (1.0 - self.tokens) / self.rate


class RateLimiter:
    """Token buckets per chat and for the whole bot."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._chats: dict[int, _Bucket] = {}
        self._global: _Bucket | None = None

    def configure(self, limits: RateLimits) -> None:
        self.limits = limits
        self._chats.clear()
        self._global = None

    def acquire(self, chat_id: int) -> int | None:
        """Take one token from both buckets, or return ``retry_after`` seconds (nothing taken)."""
        if not self.limits.enabled:
            return None
        now = self.clock()
        limits = self.limits
        if self._global is None:
            self._global = _Bucket(limits.global_rate, limits.global_burst, now)
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Bucket(limits.per_chat_rate, limits.per_chat_burst, now)
        self._global.refill(now)
        chat.refill(now)
        wait = max(self._global.wait_time(), chat.wait_time())
        if wait > 0:
            return max(1, math.ceil(wait))
        self._global.tokens -= 1.0
        chat.tokens -= 1.0
        return None


@dataclass
class Fault:
    """One fault-injection rule.

    ``methods``: Bot API method names (case-insensitive) or ``"*"`` for every method.
    ``probability``: chance per matching call (seeded RNG); ``times``: stop after this many
    injections (``None`` = no limit). ``stall_then``: after a stall, ``"answer"`` normally or
    ``"reset"`` the connection. ``after_delivery``: apply the call first, then fail the response.
    """

    kind: FaultKind
    methods: frozenset[str] = frozenset({"sendmessage"})
    probability: float = 1.0
    times: int | None = None
    retry_after: int = 1
    stall_seconds: float = 30.0
    stall_then: Literal["answer", "reset"] = "answer"
    after_delivery: bool = False
    injected: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {_FAULT_KINDS}")
        if isinstance(self.methods, str):
            self.methods = frozenset({self.methods})
        self.methods = frozenset(m.lower() for m in self.methods)
        if not self.methods:
            raise ValueError("a fault needs at least one method (or '*')")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be within 0..1")
        if self.stall_then not in ("answer", "reset"):
            raise ValueError("stall_then must be 'answer' or 'reset'")
        if self.retry_after < 1:
            raise ValueError("retry_after must be at least 1")

    def matches(self, method: str) -> bool:
        exhausted = self.times is not None and self.injected >= self.times
        return not exhausted and ("*" in self.methods or method.lower() in self.methods)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "methods": sorted(self.methods),
            "probability": self.probability,
            "times": self.times,
            "retry_after": self.retry_after,
            "stall_seconds": self.stall_seconds,
            "stall_then": self.stall_then,
            "after_delivery": self.after_delivery,
            "injected": self.injected,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        allowed = set(cls(kind="reset").to_dict()) - {"injected"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        fields = dict(data)
        methods = fields.pop("methods", ["sendMessage"])
        if isinstance(methods, str):
            methods = [methods]
        return cls(methods=frozenset(str(m) for m in methods), **fields)


@dataclass
class FaultInjector:
    rules: list[Fault] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def configure(self, rules: Iterable[Fault], seed: int | None = None) -> None:
        self.rules = list(rules)
        if seed is not None:
            self.seed = seed
        self.rng = random.Random(self.seed)

    def pick(self, method: str) -> Fault | None:
        """The rule that fires for this call, if any (first match wins)."""
        for rule in self.rules:
            if not rule.matches(method):
                continue
            if rule.probability >= 1.0 or self.rng.random() < rule.probability:
                rule.injected += 1
                return rule
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [rule.to_dict() for rule in self.rules]}


class Stats:
    """Counts per Bot API method and outcome (``ok``, ``bad_request``, ``rate_limited``, ...)."""

    def __init__(self) -> None:
        self.by_method: dict[str, Counter[str]] = {}

    def count(self, method: str, outcome: str) -> None:
        self.by_method.setdefault(method, Counter())[outcome] += 1

    def reset(self) -> None:
        self.by_method.clear()

    def to_dict(self) -> dict[str, Any]:
        totals: Counter[str] = Counter()
        for counter in self.by_method.values():
            totals.update(counter)
        return {
            "methods": {m: dict(c) for m, c in sorted(self.by_method.items())},
            "totals": dict(totals),
            "calls": sum(totals.values()),
        }
