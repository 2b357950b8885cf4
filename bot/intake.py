"""Durable update intake: store → confirm → process → mark done.

PTB's own polling confirms an update (advances the offset) before its handler finishes, so a crash
loses it. Here each fetched batch is committed to the `inbox` table first; only then is the offset
advanced (Telegram forgets updates below the offset of the *next* getUpdates call). A worker
handles inbox rows in update_id order through `Application.process_update`, inside a database
transaction that also marks the row done; ready updates of different chats share one such
transaction (a batch, see `_handle_batch`), redone one by one if any of them fails. On start,
rows left unfinished by a crash are handled first; an update Telegram delivers again is already
in the inbox and is ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.i18n import normalise_language
from bot.metrics import update_kind
from bot.turn import CURRENT_TURN, Turn
from db.models import InboxUpdate
from db.services.accounts import TelegramIdentity, touch_account
from db.types import utcnow
from homecare.config_telegram import DEFAULT_ALLOWED_UPDATES

if TYPE_CHECKING:
    from bot.ports import Homecare

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
ALLOWED_UPDATES = list(DEFAULT_ALLOWED_UPDATES)  # [telegram] allowed_updates' default
# One webhook request at a time: updates then arrive in update_id order, as a poll's batch
# does, so a person's quick taps are handled in the order they made them; one commit per
# update is milliseconds, far below a clinic's rate of updates.
WEBHOOK_MAX_CONNECTIONS = 1
# Ready updates of different chats handled in one write transaction (one BEGIN and COMMIT, one
# fsync): a commit per update cost more than the handlers (bench/intake.py). The budget keeps
# the first person's reply from waiting behind 49 others' handlers.
BATCH_MAX = 50
BATCH_BUDGET_S = 0.05


class HandlerFailed(Exception):
    """A handler raised; its transaction is rolled back and the person gets an apology."""


class _Redo(Exception):
    """A batch's update was handled elsewhere meanwhile: the batch is redone one by one."""


def _chat_key(update: Update) -> tuple[str, int]:
    """Whose order an update is in: its chat, else its sender, else itself."""
    if update.effective_chat is not None:
        return ("chat", update.effective_chat.id)
    if update.effective_user is not None:
        return ("user", update.effective_user.id)
    return ("update", update.update_id)


class Intake:
    def __init__(
        self,
        hc: Homecare,
        on_committed: Callable[[Turn], Awaitable[None]],
        apologise: Callable[[Turn], Awaitable[None]],
    ) -> None:
        self.hc = hc
        self.on_committed = on_committed
        self.apologise = apologise  # the handlers' polite reply after a failure, given by bot.app
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self.offset: int | None = None
        self.webhook_set = False  # webhook mode: Telegram has accepted setWebhook (GET /healthz)

    # --- polling ---------------------------------------------------------------------------

    async def poll_forever(self) -> None:
        bot = self.hc.application.bot
        telegram = self.hc.config.telegram
        # Telegram refuses getUpdates while a webhook is set (409): remove one left from an
        # earlier webhook-mode run; its undelivered updates stay and come by polling.
        await self._until_done(
            "deleteWebhook", lambda: bot.delete_webhook(drop_pending_updates=False)
        )
        delay = 1.0
        while not self._stopping.is_set():
            try:
                updates = await bot.get_updates(
                    offset=self.offset,
                    timeout=telegram.poll_timeout_s,
                    allowed_updates=list(telegram.allowed_updates),
                    read_timeout=telegram.poll_timeout_s + 10,
                )
                delay = 1.0
            except Conflict as exc:
                # Another process polls this token, or set a webhook meanwhile: say so, retry.
                log.error("getUpdates refused (%s); is another bot running with this token?", exc)
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            except RetryAfter as exc:
                await self._sleep(
                    float(
                        exc.retry_after
                        if isinstance(exc.retry_after, int)
                        else exc.retry_after.total_seconds()
                    )
                )
                continue
            except (TimedOut, NetworkError) as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if not updates:
                continue
            await self.store([u.to_dict() for u in updates])
            # Only now may Telegram forget them: the next getUpdates carries this offset.
            self.offset = updates[-1].update_id + 1
            self._wake.set()

    async def set_webhook(self) -> None:
        """Webhook mode: tell Telegram where to post (retried until it answers; not polling)."""
        telegram = self.hc.config.telegram
        bot = self.hc.application.bot
        await self._until_done(
            "setWebhook",
            lambda: bot.set_webhook(
                url=telegram.webhook_url,
                secret_token=telegram.secret_token,
                allowed_updates=list(telegram.allowed_updates),
                max_connections=WEBHOOK_MAX_CONNECTIONS,
                # Updates that came while the bot was down are still wanted.
                drop_pending_updates=False,
            ),
        )
        self.webhook_set = not self._stopping.is_set()
        log.info("webhook set; Telegram posts updates to the console's server")

    async def _until_done(self, what: str, call: Callable[[], Awaitable[Any]]) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                await call()
                return
            except RetryAfter as exc:
                wait = exc.retry_after
                await self._sleep(float(wait if isinstance(wait, int) else wait.total_seconds()))
            except TelegramError as exc:  # network, 5xx, or a refusal worth reading in the log
                log.warning("%s failed (%s); retrying in %.0f s", what, exc, delay)
                await self._sleep(delay)
                delay = min(delay * 2, 30.0)

    async def store(self, payloads: Sequence[dict[str, Any]], source: str = "polling") -> None:
        db = self.hc.db
        ins = (sqlite.insert if db.is_sqlite else postgresql.insert)(InboxUpdate)
        rows = [
            {
                "update_id": p["update_id"],
                "payload": p,
                "status": "pending",
                "attempts": 0,
                "received_at": utcnow(),
            }
            for p in payloads
        ]
        async with db.transaction(urgent=True) as session:
            await session.execute(ins.on_conflict_do_nothing(index_elements=["update_id"]), rows)
        self.hc.metrics.updates_received.labels(source).inc(len(rows))

    # --- processing ------------------------------------------------------------------------

    async def work_forever(self) -> None:
        while not self._stopping.is_set():
            # Clear before draining: a wake-up set while the drain runs (an update stored after
            # its SELECT) must survive, or that update waits for the next one to arrive.
            self._wake.clear()
            handled = await self.drain()
            if handled == 0:
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(self._stopping.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()

    async def drain(self, limit: int = 200) -> int:
        """Handle pending inbox rows in update_id order; returns how many were handled."""
        async with self.hc.db.read() as session:
            pending = [
                (r.update_id, r.payload)
                for r in await session.execute(
                    select(InboxUpdate.update_id, InboxUpdate.payload)
                    .where(InboxUpdate.status == "pending")
                    .order_by(InboxUpdate.update_id)
                    .limit(limit)
                )
            ]
        i = 0
        while i < len(pending) and not self._stopping.is_set():
            if len(pending) - i == 1:
                await self._handle_alone(pending[i][0])
                i += 1
                continue
            i += await self._handle_batch(pending[i:])
        return len(pending)

    async def _handle_alone(self, update_id: int) -> None:
        try:
            await self.handle(update_id)
        except Exception:
            # Not a handler bug (those are caught by PTB): the database or the machine
            # failed. Keep the update pending; give up on it after a few tries.
            log.exception("could not process update %s", update_id)
            await self._count_attempt(update_id)
            await self._sleep(1.0)

    async def _handle_batch(self, pending: Sequence[tuple[int, dict[str, Any]]]) -> int:
        """Handle a prefix of `pending` in ONE write transaction; returns its length.

        Up to `BATCH_MAX` updates, for `BATCH_BUDGET_S` at most, and never two of one chat
        (the batch ends before a chat's second update: it comes first in the next one). Each
        update is handled as `handle` does it, in its own turn; the turns' replies, effects and
        "done" marks commit together, so a crash redoes the whole batch. When one handler
        fails or the transaction does, it is rolled back and each of its updates is handled
        again alone: a bad update fails only itself."""
        hc = self.hc
        tried: list[int] = []
        done: list[tuple[Turn, str, float]] = []
        opened: list[Turn] = []
        started = time.perf_counter()
        try:
            async with hc.db.transaction(urgent=True) as session:
                chats: set[tuple[str, int]] = set()
                for update_id, payload in pending:
                    if len(tried) >= BATCH_MAX or self._stopping.is_set():
                        break
                    if tried and time.perf_counter() - started > BATCH_BUDGET_S:
                        break
                    incoming = Update.de_json(payload, hc.application.bot)
                    chat = _chat_key(incoming)
                    if chat in chats:
                        break
                    chats.add(chat)
                    tried.append(update_id)
                    began = time.perf_counter()
                    turn = await self._open_turn(session, incoming)
                    opened.append(turn)
                    await self._run_turn(turn, incoming)
                    done.append((turn, update_kind(payload), began))
                # Under the write lock since BEGIN: rows still pending now were pending when
                # their handlers ran. Another process may have handled one meanwhile.
                marked = await session.scalars(
                    update(InboxUpdate)
                    .where(InboxUpdate.update_id.in_(tried), InboxUpdate.status == "pending")
                    .values(status="done", attempts=InboxUpdate.attempts + 1, done_at=utcnow())
                    .returning(InboxUpdate.update_id),
                    execution_options={"synchronize_session": False},
                )
                if len(list(marked)) != len(tried):
                    raise _Redo
        except Exception as exc:
            if not isinstance(exc, HandlerFailed | _Redo):
                log.warning("a batch of %d updates failed (%s); one by one", len(tried), exc)
            for turn in opened:  # each is handled again: charge its person once, not twice
                if turn.flood_charged and turn.account is not None:
                    hc.flood.refund(turn.account.id)
            for update_id in tried or [pending[0][0]]:  # none tried: the database is down
                if self._stopping.is_set():
                    break
                await self._handle_alone(update_id)
            return max(len(tried), 1)
        for _turn, kind, began in done:
            self._measured(kind, "ok", began)
        for turn, _, _ in done:
            await self.on_committed(turn)
        return max(len(tried), 1)

    async def _count_attempt(self, update_id: int) -> None:
        try:
            async with self.hc.db.transaction(urgent=True) as session:
                row = await session.get(InboxUpdate, update_id)
                if row is None:
                    return
                row.attempts += 1
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    row.error = "gave up after repeated processing errors"
        except Exception:
            log.exception("could not record the failed attempt for update %s", update_id)

    async def handle(self, update_id: int) -> None:
        hc = self.hc
        turn: Turn | None = None
        started = time.perf_counter()
        kind = "other"
        try:
            async with hc.db.transaction(urgent=True) as session:
                row = await session.get(InboxUpdate, update_id)
                if row is None or row.status != "pending":
                    return  # handled meanwhile
                kind = update_kind(row.payload)
                update = Update.de_json(row.payload, hc.application.bot)
                turn = await self._open_turn(session, update)
                await self._run_turn(turn, update)
                row.status = "done"
                row.attempts += 1
                row.done_at = utcnow()
        except HandlerFailed as exc:
            await self._record_failure(update_id, turn, exc.__cause__ or exc)
            self._measured(kind, "failed", started)
            return
        self._measured(kind, "ok", started)
        await self.on_committed(turn)

    def _measured(self, kind: str, outcome: str, started: float) -> None:
        metrics = self.hc.metrics
        metrics.updates_handled.labels(kind, outcome).inc()
        metrics.handler_seconds.labels(kind).observe(time.perf_counter() - started)

    async def _run_turn(self, turn: Turn, update: Update) -> None:
        """PTB handles `update` within `turn`; a handler's failure rolls the transaction back."""
        token = CURRENT_TURN.set(turn)
        try:
            await self.hc.application.process_update(update)
        finally:
            CURRENT_TURN.reset(token)
        if turn.error is not None:
            raise HandlerFailed from turn.error

    async def _open_turn(self, session: Any, update: Update) -> Turn:
        hc = self.hc
        user = update.effective_user
        chat = update.effective_chat
        account = None
        if user is not None and not user.is_bot:
            account = await touch_account(
                session,
                TelegramIdentity(
                    user_id=user.id,
                    chat_id=chat.id if chat else user.id,
                    first_name=user.first_name or "",
                    username=user.username,
                    language=normalise_language(user.language_code),
                ),
            )
        clinic_id, config = hc.clinics.for_person(account)  # the person's clinic
        return Turn(
            session=session,
            config=config,
            clinic_id=clinic_id,
            clinics=hc.clinics,
            update_id=update.update_id,
            chat_id=chat.id if chat else None,
            account=account,
        )

    async def _record_failure(
        self, update_id: int, failed: Turn | None, exc: BaseException
    ) -> None:
        """Mark the update failed (not retried: a bug would repeat) and apologise in a new turn."""
        hc = self.hc
        async with hc.db.transaction(urgent=True) as session:
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id)
                .values(
                    status="failed",
                    attempts=InboxUpdate.attempts + 1,
                    done_at=utcnow(),
                    error=f"{type(exc).__name__}: {exc}"[:300],
                )
            )
            row = await session.get(InboxUpdate, update_id)
            assert row is not None
            turn = await self._open_turn(session, Update.de_json(row.payload, hc.application.bot))
            await self.apologise(turn)
        await self.on_committed(turn)

    # --- lifecycle -------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()
