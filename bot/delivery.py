"""The outbox relay: sends queued messages in order and records what happened.

States of an outbox row: pending → sending → sent | undeliverable | failed.
A row found in `sending` at start-up was interrupted between the send and the mark; it is sent
again (at most one duplicate, never none).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from telegram import InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.warnings import PTBUserWarning

from db.models import Account, OutboxMessage
from db.types import utcnow

if TYPE_CHECKING:
    from bot.app import HomecareApp

log = logging.getLogger(__name__)

# Stored rows replay any Bot API method generically through `do_api_request`; PTB would rather we
# called the typed method and says so on each call.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.", category=PTBUserWarning)

UNREACHABLE = ("chat not found", "user is deactivated", "bot was blocked", "bot can't initiate")


def _retry_after_s(exc: RetryAfter) -> float:
    ra = exc.retry_after
    return float(ra) if isinstance(ra, int | float) else ra.total_seconds()


class Relay:
    def __init__(self, hc: HomecareApp) -> None:
        self.hc = hc
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def recover(self) -> int:
        """Rows left in `sending` by a crash go back to pending (sent again: at most twice)."""
        async with self.hc.db.transaction() as session:
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "sending")
                .values(status="pending")
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def run_forever(self) -> None:
        await self.recover()
        while not self._stopping.is_set():
            try:
                sent = await self.flush()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                sent = 0
            if sent == 0:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    async def flush(self, limit: int = 100) -> int:
        """One pass over due rows in id order; a chat whose row is deferred keeps its order."""
        now = utcnow()
        async with self.hc.db.read() as session:
            rows = list(
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.chat_id)
                    .where(OutboxMessage.status == "pending", OutboxMessage.not_before <= now)
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                )
            )
            waiting_chats = set(
                await session.scalars(
                    select(OutboxMessage.chat_id)
                    .where(OutboxMessage.status == "pending", OutboxMessage.not_before > now)
                    .distinct()
                )
            )
        done = 0
        for row_id, chat_id in rows:
            if self._stopping.is_set():
                break
            if chat_id in waiting_chats:
                continue
            if not await self.deliver(row_id):
                waiting_chats.add(chat_id)
            done += 1
        return done

    async def deliver(self, row_id: int) -> bool:
        """Send one row; returns False when it was deferred (later rows to that chat wait)."""
        db = self.hc.db
        async with db.transaction() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None or row.status != "pending":
                return True
            row.status = "sending"
            row.attempts += 1
            method, payload, attachment = row.method, dict(row.payload), row.attachment
        api_kwargs = self._api_kwargs(payload, attachment)
        try:
            result: Any = await self.hc.application.bot.do_api_request(
                method, api_kwargs=api_kwargs
            )
        except RetryAfter as exc:
            await self._defer(row_id, _retry_after_s(exc), f"429 retry after {exc.retry_after}")
            return False
        except Forbidden as exc:
            await self._unreachable(row_id, str(exc))
            return True
        except BadRequest as exc:
            if any(s in str(exc).lower() for s in UNREACHABLE):
                await self._unreachable(row_id, str(exc))
            else:
                await self._finish(row_id, "failed", error=str(exc))
                log.error("outbox %s %s rejected: %s", row_id, method, exc)
            return True
        except (TimedOut, NetworkError) as exc:
            # A timeout may hide a delivered message: sending again risks one duplicate, which
            # we accept rather than risk none.
            await self._defer(row_id, self._backoff(row_id), f"{type(exc).__name__}: {exc}")
            return False
        except TelegramError as exc:
            await self._defer(row_id, 5.0, f"{type(exc).__name__}: {exc}")
            return False
        message_id = result.get("message_id") if isinstance(result, dict) else None
        await self._finish(row_id, "sent", message_id=message_id)
        return True

    def _api_kwargs(self, payload: dict[str, Any], attachment: bytes | None) -> dict[str, Any]:
        spec = payload.pop("__attachment__", None)
        if spec and attachment is not None:
            payload[spec["field"]] = InputFile(attachment, filename=spec.get("filename"))
        return payload

    def _backoff(self, row_id: int) -> float:
        return 2.0

    async def _defer(self, row_id: int, seconds: float, error: str) -> None:
        async with self.hc.db.transaction() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status = "pending"
            row.not_before = utcnow() + timedelta(seconds=seconds)
            row.last_error = error[:300]

    async def _finish(
        self, row_id: int, status: str, *, message_id: int | None = None, error: str | None = None
    ) -> None:
        async with self.hc.db.transaction() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status = status
            row.sent_at = utcnow() if status == "sent" else None
            row.telegram_message_id = message_id
            row.last_error = error[:300] if error else None

    async def _unreachable(self, row_id: int, error: str) -> None:
        async with self.hc.db.transaction() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None:
                return
            row.status = "undeliverable"
            row.last_error = error[:300]
            if row.account_id is not None:
                account = await session.get(Account, row.account_id)
                if account is not None and account.undeliverable_at is None:
                    account.undeliverable_at = utcnow()
        log.warning("outbox %s: chat %s unreachable (%s)", row_id, "<chat>", error)
