"""The outbox relay: sends queued rows within Telegram's limits and records what happened.

Scheduling
    Rows are grouped in one *lane* per chat. A chat's rows go out one at a time in id order (a
    row waiting for a retry holds its chat's later rows back); different chats are served
    concurrently, at most `[delivery] concurrency` requests in flight. Two GCRA pacers (virtual
    scheduling, a token bucket without a timer) pace what Telegram limits, new messages: one
    for the whole bot (`global_rate_per_s`, burst `global_burst`) and one per chat
    (`per_chat_interval_s`, burst `per_chat_burst`). Other calls (edits, chat actions, menus)
    are not messages: they wait for no pacer and go ahead of paced messages, so a keyboard
    edit is not queued behind a minute of reminders. When several chats are ready, a waiting
    person's reply (`kind` reply/menu, or queued by an update) takes the next slot before bulk
    reminders, so a reply is not stuck behind 2,000 reminders.

    Only as many messages are in flight as the pace needs (`AtRisk` in bot/delivery_policy.py),
    so a crash repeats at most one while Telegram answers within a pacing interval.

    PTB's `AIORateLimiter` is not used: it throttles only the overall rate and groups (private
    chats are not spaced at 1/s) and a 429 stops every request; here the relay needs per-chat
    order, priorities and retries that survive a restart, so the pacing lives with the lanes.

Errors and uncertain outcomes: the policy is in bot/delivery_policy.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import random
import warnings
from bisect import insort
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import InputFile
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning, PTBUserWarning

from bot.delivery_policy import (
    DONE,
    FLOOD_CHATS,
    FLOOD_WINDOW_S,
    UNREACHABLE,
    AtRisk,
    Item,
    Lane,
    Outcome,
    Pace,
    backoff_s,
    retry_after_s,
    surely_not_sent,
)
from bot.templates import render_intent
from db.services import delivery as store
from db.services.delivery import Claimed, Due
from db.types import utcnow

if TYPE_CHECKING:
    from bot.ports import Homecare

log = logging.getLogger(__name__)

# Stored rows replay any Bot API method generically through `do_api_request`; PTB would rather we
# called the typed method and says so on each call.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)
# PTB 22 itself reads `RetryAfter.retry_after` when raising it and warns that the attribute will
# become a timedelta; `retry_after_s` below accepts both.
warnings.filterwarnings(
    "ignore", message=r".*`retry_after` will be of type", category=PTBDeprecationWarning
)

# Outbox rows of bot-wide calls (setMyCommands for the default scope) carry this chat id.
BOT_WIDE = 0
CONNECT_TIMEOUT_S = 5.0
POOL_TIMEOUT_S = 10.0
Hook = Callable[[str, int], Awaitable[None]]


class Relay:
    """Owns the relay tasks; `wake(ids)` after a commit that queued rows sends them at once."""

    def __init__(self, hc: Homecare) -> None:
        self.hc = hc
        cfg = hc.config.delivery
        self.concurrency = cfg.concurrency
        self.max_attempts = cfg.max_attempts
        self.backoff_cap = cfg.backoff_cap_s
        self.chat_interval = cfg.per_chat_interval_s
        self.chat_burst = cfg.per_chat_burst
        self.scan_interval = 2.0  # full scans catch rows committed by other processes
        self.max_in_memory = 5000
        self.stop_grace_s = 5.0
        self.rng = random.Random()
        # Test hook: awaited at "claimed" (committed `sending`, not yet sent) and "sent" (sent,
        # not yet marked) with the row id; a crash test blocks there and stops the app.
        self.hook: Hook | None = None
        self.stats: Counter[str] = Counter()
        self._global = Pace(1.0 / cfg.global_rate_per_s, cfg.global_burst)
        self._global_hold = 0.0
        self._floods: deque[tuple[float, int]] = deque()
        self._lanes: dict[int, Lane] = {}
        self._known: set[int] = set()
        self._finished: dict[int, float] = {}
        # Ready lanes as (priority, row id, chat, ticket): heads that are messages (paced) and
        # heads that are not (sent as soon as there is room in flight).
        self._ready: list[tuple[int, int, int, int]] = []
        self._ready_free: list[tuple[int, int, int, int]] = []
        self._timers: list[tuple[float, int, int]] = []  # (loop time, chat, ticket)
        self._inflight: set[asyncio.Task[None]] = set()
        self._at_risk = AtRisk(1.0 / cfg.global_rate_per_s)  # messages sent, not yet marked
        self._parked: list[Lane] = []  # lanes waiting for earlier bot-wide calls
        self._on_network: set[asyncio.Task[Any]] = set()
        self._announced: set[int] = set()
        self._scan_due = True
        self._last_scan = float("-inf")
        self._kick = asyncio.Event()
        self._load_now = asyncio.Event()
        self._stopping = asyncio.Event()
        self._closed = asyncio.Event()
        self._closed.set()  # not running yet

    # --- control --------------------------------------------------------------------------

    def wake(self, ids: Iterable[int] | None = None) -> None:
        """Rows were committed: `ids` when known (fast path), else rescan the outbox."""
        if ids is None:
            self._scan_due = True
        else:
            self._announced.update(ids)
        self._load_now.set()

    def stop(self) -> None:
        self._stopping.set()
        self._load_now.set()
        self._kick.set()

    @property
    def messages_at_risk(self) -> int:
        """Messages sent and not yet marked: what a crash now would send again."""
        return len(self._at_risk.starts)

    @property
    def backlog(self) -> int:
        """Rows known to the relay and not finished (in memory)."""
        return len(self._known)

    async def recover(self) -> int:
        """At start: rows left in `sending` by a crash are sent again (uncertain, see above)."""
        async with self.hc.db.transaction() as session:
            n = await store.recover(session)
        if n:
            log.warning("outbox: %d message(s) were interrupted by a restart; sending again", n)
        return n

    async def run_forever(self) -> None:
        """Load due rows and dispatch them until stopped; never ends on an error."""
        self._closed.clear()
        loader = asyncio.create_task(self._load_forever(), name="outbox-loader")
        try:
            while not self._stopping.is_set():
                try:
                    await self._dispatch_step()
                except Exception:
                    log.exception("outbox relay: dispatch failed; going on")
                    await self._sleep(1.0)
        finally:
            try:
                await self._shutdown(loader)
            finally:
                self._closed.set()

    async def wait_closed(self, timeout_s: float = 60.0) -> None:
        """After `stop()`: until `run_forever` has finished its sends (if it runs at all)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closed.wait(), timeout=timeout_s)

    async def _shutdown(self, loader: asyncio.Task[None]) -> None:
        """Let the tasks end on their own: a task cancelled inside a database call would leave
        the call running in the driver's thread (a claim committed after the stop) and race the
        engine's disposal. Only sends waiting on the network are cancelled, after a grace period;
        their rows stay `sending` and are sent again at the next start (uncertain)."""
        self._stopping.set()
        self._load_now.set()
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.stop_grace_s)
        for task in list(self._inflight):
            if task in self._on_network:
                task.cancel()
        rest = {loader, *self._inflight}
        _, stuck = await asyncio.wait(rest, timeout=30.0)
        for task in stuck:  # a database that does not answer at all: give up on it
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    # --- loading --------------------------------------------------------------------------

    async def _load_forever(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            self._load_now.clear()
            try:
                wait = await self._load()
                delay = 1.0
            except Exception:
                log.exception("outbox relay: reading the outbox failed; retrying")
                self._scan_due = True
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            await self._wait(self._load_now, wait)

    async def _load(self) -> float:
        """Add due rows to their lanes; returns how long the loader may sleep."""
        loop = asyncio.get_running_loop()
        now = utcnow()
        full = self._scan_due or loop.time() - self._last_scan >= self.scan_interval
        ids, self._announced = self._announced, set()
        sleep = self.scan_interval
        try:
            async with self.hc.db.read() as session:
                if full:
                    # The known rows come first in id order: read past them, add what fits.
                    rows = await store.due_rows(session, now, self.max_in_memory)
                    upcoming = await store.next_scheduled(session, now)
                    if upcoming is not None:
                        sleep = min(sleep, max(0.05, (upcoming - now).total_seconds()))
                else:
                    rows = await store.rows_by_id(session, sorted(ids), now)
        except BaseException:
            self._announced |= ids
            raise
        if full:
            self._scan_due = False
            self._last_scan = loop.time()
            self._prune_finished(loop.time())
        room = None if not full else max(0, self.max_in_memory - len(self._known))
        self._add(rows, now_wall=now, now=loop.time(), room=room)
        return sleep

    def _prune_finished(self, now: float) -> None:
        old = [i for i, at in self._finished.items() if now - at > 120.0]
        for i in old:
            del self._finished[i]

    def _add(self, rows: list[Due], *, now_wall: Any, now: float, room: int | None) -> None:
        """Put new rows in their lanes; `room` caps how many (None: all, the fast path)."""
        touched: dict[int, Lane] = {}
        for due in rows:
            if due.id in self._known or due.id in self._finished:
                continue
            if room is not None:
                if room <= 0:
                    break
                room -= 1
            self._known.add(due.id)
            lane = self._lanes.get(due.chat_id)
            if lane is None:
                lane = self._lanes[due.chat_id] = Lane(
                    due.chat_id, Pace(self.chat_interval, self.chat_burst)
                )
            item = Item(due)
            if due.retrying and due.not_before > now_wall:
                item.hold = now + (due.not_before - now_wall).total_seconds()
            insort(lane.items, item, key=lambda i: i.due.id)
            touched[lane.chat_id] = lane
        for lane in touched.values():
            self._schedule(lane)

    # --- dispatching ----------------------------------------------------------------------

    def _ready_at(self, lane: Lane) -> float:
        head = lane.items[0]
        at = head.hold
        if head.is_message:
            at = max(at, lane.pace.ready_at())
        return at

    def _paced(self, item: Item) -> bool:
        """Only messages wait for the bot-wide pacer (bench/interactive.py replays the old rule)."""
        return item.is_message

    def _schedule(self, lane: Lane) -> None:
        if lane.busy:
            return
        if not lane.items:
            self._lanes.pop(lane.chat_id, None)
            return
        lane.ticket += 1
        at = self._ready_at(lane)
        if at <= asyncio.get_running_loop().time():
            head = lane.items[0]
            priority = 0 if head.due.interactive else 1
            ready = self._ready if self._paced(head) else self._ready_free
            heapq.heappush(ready, (priority, head.due.id, lane.chat_id, lane.ticket))
        else:
            heapq.heappush(self._timers, (at, lane.chat_id, lane.ticket))
        self._kick.set()

    def _promote(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, chat_id, ticket = heapq.heappop(self._timers)
            lane = self._lanes.get(chat_id)
            if lane is not None and lane.ticket == ticket and not lane.busy and lane.items:
                self._schedule(lane)

    async def _dispatch_step(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._promote(now)
        if not self._ready and not self._ready_free:
            self._kick.clear()
            timeout = self._timers[0][0] - now if self._timers else None
            await self._wait(self._kick, timeout)
            return
        if len(self._inflight) >= self.concurrency:
            self._kick.clear()
            await self._wait(self._kick, None)
            return
        # After a bot-wide 429 everything waits; otherwise only messages wait for the pacer.
        wait = self._global_hold - now
        ready = self._ready_free
        at_risk = 0.0
        if not ready:
            wait = max(wait, self._global.delay(now))
            ready = self._ready
            if self._at_risk.starts and self._head_is_message(ready):
                at_risk = self._at_risk.room(now)
        if max(wait, at_risk) > 0:
            if at_risk > wait:  # a message in flight being marked wakes us (kick)
                self._kick.clear()
                await self._wait(self._kick, at_risk)
            else:  # sleep without taking a slot: a reply arriving meanwhile may take it first
                await self._sleep(wait)
            return
        _, _, chat_id, ticket = heapq.heappop(ready)
        lane = self._lanes.get(chat_id)
        if lane is None or lane.ticket != ticket or lane.busy or not lane.items:
            return
        item = lane.items[0]
        if self._behind_bot_wide(lane, item, now):
            self._parked.append(lane)
            return
        if self._paced(item):
            self._global.consume(now)
        if item.is_message:
            lane.pace.consume(now)
        lane.busy = True
        task = asyncio.create_task(self._send(lane, item), name=f"outbox-{item.due.id}")
        self._inflight.add(task)
        if item.is_message:
            self._at_risk.starts[task] = now
        task.add_done_callback(self._sent_callback)

    def _head_is_message(self, ready: list[tuple[int, int, int, int]]) -> bool:
        lane = self._lanes.get(ready[0][2]) if ready else None
        return lane is not None and bool(lane.items) and lane.items[0].is_message

    def _sent_callback(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._at_risk.starts.pop(task, None)
        self._kick.set()

    async def _send(self, lane: Lane, item: Item) -> None:
        try:
            outcome = await self._deliver(item)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("outbox relay: sending row %s failed unexpectedly", item.due.id)
            outcome = Outcome(done=False, delay=5.0)
        loop = asyncio.get_running_loop()
        now = loop.time()
        lane.busy = False
        if outcome.done:
            with contextlib.suppress(ValueError):
                lane.items.remove(item)
            self._known.discard(item.due.id)
            self._finished[item.due.id] = now
        else:
            item.hold = now + outcome.delay
        if outcome.flood:
            lane.pace.hold(now + outcome.delay)
            self._flooded(lane.chat_id, now, outcome.delay)
        self._schedule(lane)
        if lane.chat_id == BOT_WIDE:
            parked, self._parked = self._parked, []
            for other in parked:
                self._schedule(other)

    def _behind_bot_wide(self, lane: Lane, item: Item, now: float) -> bool:
        """Bot-wide calls (default menus, chat 0) queued before a chat's row go first, as a
        serial relay would have it; one waiting for a retry holds nobody back."""
        if lane.chat_id == BOT_WIDE:
            return False
        bot_wide = self._lanes.get(BOT_WIDE)
        if bot_wide is None or not bot_wide.items:
            return False
        head = bot_wide.items[0]
        return head.due.id < item.due.id and head.hold <= now

    def _flooded(self, chat_id: int, now: float, wait: float) -> None:
        self._floods.append((now, chat_id))
        while self._floods and now - self._floods[0][0] > FLOOD_WINDOW_S:
            self._floods.popleft()
        if len({c for _, c in self._floods}) >= FLOOD_CHATS:
            self._global_hold = max(self._global_hold, now + wait)
            log.warning("outbox: Telegram's bot-wide limit hit; every chat waits %.1f s", wait)

    # --- one row --------------------------------------------------------------------------

    async def _deliver(self, item: Item) -> Outcome:
        row_id = item.due.id
        try:
            # Grouped: the claims of messages going out together share one commit.
            claimed = await self.hc.db.grouped(lambda s: store.claim(s, row_id, utcnow()))
        except Exception as exc:
            log.warning("outbox: could not claim row %s (%s); later", row_id, exc)
            return Outcome(done=False, delay=2.0)
        if claimed is None:
            return DONE
        if self._stopping.is_set():  # claimed as the relay stopped: nothing was sent
            await self._settle(store.release, row_id)
            return Outcome(done=False)
        if claimed.template is not None:
            try:
                claimed = await self._render(claimed)
            except Exception as exc:  # a bug or a stale intent: resending cannot help
                log.exception("outbox: row %s intent %s cannot render", row_id, claimed.template)
                return await self._failed(claimed, f"render: {exc}", escalate=True)
        try:
            result = await self._request(claimed)
        except RetryAfter as exc:
            wait = retry_after_s(exc)
            self.stats["rate_limited"] += 1
            await self._settle(
                store.defer,
                row_id,
                utcnow() + timedelta(seconds=wait),
                f"429 retry after {wait:g}",
                uncertain=False,
            )
            return Outcome(done=False, delay=wait, flood=True)
        except Forbidden as exc:
            return await self._unreachable(claimed, str(exc))
        except BadRequest as exc:
            text = str(exc).lower()
            if any(s in text for s in UNREACHABLE):
                return await self._unreachable(claimed, str(exc))
            if "message is not modified" in text:  # an edit already in place: done
                await self._settle(store.mark_sent, row_id, None, utcnow())
                return DONE
            return await self._failed(claimed, f"refused: {exc}", escalate=False)
        except (InvalidToken, EndPointNotFound) as exc:
            # A configuration problem; the rows are fine and go out once it is fixed.
            log.error("outbox: Telegram refused the bot itself (%s); check the token", exc)
            return await self._retry(claimed, f"{type(exc).__name__}: {exc}", uncertain=False)
        except NetworkError as exc:  # TimedOut included; BadRequest handled above
            uncertain = not surely_not_sent(exc)
            return await self._retry(claimed, f"{type(exc).__name__}: {exc}", uncertain=uncertain)
        except TelegramError as exc:
            return await self._retry(claimed, f"{type(exc).__name__}: {exc}", uncertain=False)
        except Exception as exc:  # e.g. a payload PTB cannot encode: nothing left the machine
            log.exception("outbox: row %s could not be sent", row_id)
            return await self._retry(claimed, f"{type(exc).__name__}: {exc}", uncertain=False)
        self._at_risk.answered(asyncio.current_task(), asyncio.get_running_loop().time())
        message_id = result.get("message_id") if isinstance(result, dict) else None
        await self._settle(store.mark_sent, row_id, message_id, utcnow())
        self.stats["sent"] += 1
        return DONE

    async def _request(self, claimed: Claimed) -> Any:
        """The Bot API call (the only part of a send that a stop may cancel)."""
        task = asyncio.current_task()
        assert task is not None
        self._on_network.add(task)
        try:
            if self.hook is not None:
                await self.hook("claimed", claimed.id)
            cfg = self.hc.config.telegram
            result = await self.hc.application.bot.do_api_request(
                claimed.method,
                api_kwargs=self._api_kwargs(claimed),
                read_timeout=cfg.request_timeout_s,
                write_timeout=cfg.request_timeout_s,
                connect_timeout=CONNECT_TIMEOUT_S,
                pool_timeout=POOL_TIMEOUT_S,
            )
            if self.hook is not None:
                await self.hook("sent", claimed.id)
            return result
        finally:
            self._on_network.discard(task)

    async def _render(self, claimed: Claimed) -> Claimed:
        """An intent as the Bot API call to make now, in the recipient's current language."""
        assert claimed.template is not None
        rendered = await render_intent(
            claimed.template,
            claimed.params,
            chat_id=claimed.chat_id,
            language=claimed.language,
            config=self.hc.clinics.config_for(claimed.clinic_id),
        )
        return replace(
            claimed,
            method=rendered.method,
            payload=rendered.payload,
            attachment=rendered.attachment or claimed.attachment,
        )

    def _api_kwargs(self, claimed: Claimed) -> dict[str, Any]:
        payload = dict(claimed.payload or {})
        spec = payload.pop("__attachment__", None)
        if spec and claimed.attachment is not None:
            name = spec.get("filename") or claimed.filename
            payload[spec["field"]] = InputFile(claimed.attachment, filename=name)
        return payload

    async def _retry(self, claimed: Claimed, error: str, *, uncertain: bool) -> Outcome:
        self.stats["uncertain" if uncertain else "retried"] += 1
        if claimed.attempts >= self.max_attempts:
            return await self._failed(claimed, f"gave up after {claimed.attempts}: {error}", True)
        delay = backoff_s(claimed.attempts, self.backoff_cap, self.rng)
        log.info(
            "outbox: row %s attempt %d failed (%s); retry in %.1f s",
            claimed.id,
            claimed.attempts,
            error,
            delay,
        )
        await self._settle(
            store.defer,
            claimed.id,
            utcnow() + timedelta(seconds=delay),
            error,
            uncertain=uncertain,
        )
        return Outcome(done=False, delay=delay)

    async def _unreachable(self, claimed: Claimed, error: str) -> Outcome:
        self.stats["undeliverable"] += 1
        await self._settle(store.mark_undeliverable, claimed.id, error, utcnow())
        log.warning("outbox: row %s undeliverable (%s)", claimed.id, error)
        return DONE

    async def _failed(self, claimed: Claimed, error: str, escalate: bool) -> Outcome:
        self.stats["failed"] += 1
        await self._settle(store.mark_failed, claimed.id, error, utcnow(), escalate=escalate)
        log.error("outbox: row %s %s failed: %s", claimed.id, claimed.method, error)
        return DONE

    async def _settle(self, fn: Callable[..., Awaitable[None]], *args: Any, **kw: Any) -> None:
        """Record an outcome, retrying while the database is unavailable: a row must not stay
        in `sending` while the process runs (that would be retried only after a restart)."""
        delay = 0.5
        while True:
            try:
                await self.hc.db.grouped(lambda s: fn(s, *args, **kw))
                return
            except Exception:
                if self._stopping.is_set():
                    raise
                log.exception("outbox: recording an outcome failed; retrying")
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)

    # --- helpers --------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _wait(self, event: asyncio.Event, seconds: float | None) -> None:
        """Until `event`, stop, or `seconds` pass."""
        if self._stopping.is_set():
            return
        waiter = asyncio.ensure_future(event.wait())
        stopper = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait(
                {waiter, stopper}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
            stopper.cancel()
