"""Delivery policy, free of I/O: what counts as sent, unreachable or a flood; pacers; lanes.

bot/delivery.py (the relay) applies it; tests/delivery/test_relay.py checks it with tables.

Errors
    429: the chat waits `retry_after` (its row keeps its place); 429s in three chats within a
    second mean the bot-wide limit was hit, and every chat waits. 5xx and network errors: retried
    with exponential backoff and full jitter, capped at `backoff_cap_s`; after `max_attempts`
    the row fails and the heads get a "phone this patient" task. 403 and "chat not found": the
    row is `undeliverable`, the account is marked, and the heads get a phone task (family only,
    once per account). Any other refusal (400) is logged and the row fails: resending a
    malformed message cannot help. The relay's loops catch everything and go on.

Uncertain outcomes (the explicit policy)
    A request that may have reached Telegram without an answer coming back (read timeout, the
    connection dropped after the request was written, or the process died between the send and
    the mark: found in `sending` at start) is *uncertain*: it may or may not have been delivered.
    Each uncertain outcome is followed by exactly one resend, which is the "at most one
    duplicate" of that event; the message is never dropped for being uncertain ("never none").
    Errors that prove the request was not sent (connection refused, connect or pool timeout) or
    that Telegram answered (429, 5xx) are not uncertain and cause no duplicate. So one crash or
    one timeout gives a message at most two copies; a second uncertain outcome for the *same*
    message (two timeouts in a row) may give a third, which we prefer to a lost reminder.
    `outbox.uncertain` counts these outcomes per row.

Messages at risk
    A kill repeats every message sent and not yet marked at that moment, so a message goes out
    alone unless the network makes that too slow for the pace (`AtRisk`): the next one starts
    when the one in flight is marked, unless Telegram's answer to a message (averaged) takes
    longer than the pacing interval (1/`global_rate_per_s`, 34 ms at 29/s); then the next starts
    3/4 of an interval after the newest, about r × rate / 0.75 in flight at a round trip r (4 at
    100 ms). A request out longer than `STALL_S` does not hold the others back. So while
    Telegram usually answers within the interval, a crash repeats at most one message; at
    100 ms about four. Edits and callback answers are not limited: a repeat shows nothing new.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import httpx
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from db.services.delivery import Due

UNREACHABLE = ("chat not found", "user is deactivated", "bot was blocked", "bot can't initiate")
# Methods that put a new message in a chat: Telegram's per-chat flood limit applies to these.
MESSAGE_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendaudio",
        "sendvideo",
        "sendvoice",
        "sendanimation",
        "sendsticker",
        "sendpoll",
        "senddice",
        "sendmediagroup",
        "copymessage",
        "forwardmessage",
    }
)
# httpx errors raised before the request left this machine: nothing can have been delivered.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# 429s in this many distinct chats within FLOOD_WINDOW_S: the bot-wide limit, not one chat's.
FLOOD_CHATS = 3
FLOOD_WINDOW_S = 1.0


def retry_after_s(exc: RetryAfter) -> float:
    ra = exc.retry_after
    return float(ra) if isinstance(ra, int | float) else ra.total_seconds()


def surely_not_sent(exc: NetworkError) -> bool:
    """True when the error proves the request was not delivered.

    PTB raises NetworkError without a cause when Telegram *answered* with an error status (5xx):
    not delivered. With an httpx cause, only errors before the request left count as not sent;
    a read timeout or a dropped connection may hide a delivered message.
    """
    cause = exc.__cause__
    if cause is None:
        return not isinstance(exc, TimedOut)
    if isinstance(cause, TelegramError):  # an unparsable answer (e.g. an HTML 502 page)
        return True
    return isinstance(cause, NOT_SENT)


def backoff_s(attempts: int, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: 0.5–1 s after the first failure, doubling, capped."""
    base: float = min(cap, 2.0 ** max(0, attempts - 1))
    return base * rng.uniform(0.5, 1.0)


class Pace:
    """GCRA: `rate` events per second with bursts of `burst`, no timers or refills."""

    def __init__(self, interval_s: float, burst: int) -> None:
        self.interval = interval_s
        self.tolerance = (burst - 1) * interval_s
        self.tat = float("-inf")  # theoretical arrival time of the next event

    def ready_at(self) -> float:
        return self.tat - self.tolerance

    def delay(self, now: float) -> float:
        return max(0.0, self.ready_at() - now)

    def consume(self, now: float) -> None:
        self.tat = max(self.tat, now) + self.interval

    def hold(self, until: float) -> None:
        """Nothing before `until` (after a 429)."""
        self.tat = max(self.tat, until + self.tolerance)


# --- the relay's bookkeeping -------------------------------------------------------------


@dataclass
class Item:
    due: Due
    hold: float = 0.0  # loop time before which it must not be tried (retry wait)

    @property
    def is_message(self) -> bool:
        return self.due.method.lower() in MESSAGE_METHODS


@dataclass
class Lane:
    chat_id: int
    pace: Pace
    items: list[Item] = field(default_factory=list)  # sorted by row id
    busy: bool = False
    ticket: int = 0  # bumped on each (re)scheduling; stale heap entries carry an older one


@dataclass(frozen=True)
class Outcome:
    done: bool  # the row leaves the lane (sent, undeliverable, failed, expired, gone)
    delay: float = 0.0  # not done: wait this long before the next attempt
    flood: bool = False  # a 429


DONE = Outcome(done=True)


@dataclass
class AtRisk:
    """Messages in flight (sent, not yet marked): when each started, and how long Telegram
    usually takes to answer one (an exponential average; the local mark is not counted: more
    messages in flight would not make the database faster, only a crash costlier)."""

    interval: float  # the pacer's interval between messages, seconds
    starts: dict[object, float] = field(default_factory=dict)
    typical: float = 0.0
    STALL_S = 1.0  # a request out this long is stuck, not slow: the others go on

    def answered(self, key: object, now: float) -> None:
        """Telegram answered the message `key` (its mark follows; `starts` keeps it till then)."""
        start = self.starts.get(key)
        if start is not None:
            took = now - start
            self.typical = took if self.typical == 0.0 else 0.8 * self.typical + 0.2 * took

    def room(self, now: float) -> float:
        """Seconds until another message may start (0: now); a mark can end the wait sooner."""
        if not self.starts:
            return 0.0
        newest = max(self.starts.values())
        if self.typical <= self.interval:  # one at a time keeps the pace
            return max(0.0, newest + self.STALL_S - now)
        return max(0.0, newest + 0.75 * self.interval - now)
