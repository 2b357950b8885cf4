"""The outbox relay's bookkeeping: which rows are due, claiming a row, recording the outcome.

States of an outbox row::

    pending ──claim──▶ sending ──▶ sent
       ▲                  │   ├──▶ undeliverable   (403, chat not found: the person is unreachable)
       └──── retry ───────┘   ├──▶ failed          (refused as malformed, or attempts used up)
                              └──▶ expired         (not sent before `expires_at`: useless now)

`claim` commits `sending` *before* the request goes out, so a row found in `sending` after a
crash may or may not have been delivered: `recover` sends it again and counts it `uncertain`.
No Telegram import here: the relay (bot/delivery.py) classifies errors and calls these.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.intents import decode_params
from db.models import Account, OutboxMessage, StoredFile
from db.services.escalations import KIND_UNDELIVERED, KIND_UNREACHABLE, phone_unreachable

# Kinds whose messages answer a person who is waiting (served before bulk reminders).
INTERACTIVE_KINDS = frozenset({"reply", "menu"})


@dataclass(frozen=True)
class Due:
    """What the relay's scheduler needs to know about a pending row (not its payload)."""

    id: int
    chat_id: int
    method: str
    interactive: bool
    not_before: datetime
    retrying: bool  # attempted before: later rows to the same chat wait behind it


@dataclass(frozen=True)
class Claimed:
    """A row the relay is about to send: a rendered payload, or an intent to render now."""

    id: int
    chat_id: int
    method: str
    payload: dict[str, Any] | None  # None for an intent
    attachment: bytes | None  # the stored file's bytes (or a legacy row's inline bytes)
    attempts: int  # including this one
    uncertain: int  # earlier attempts whose outcome is unknown
    template: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    language: str | None = None  # the recipient's language now (None: no account)
    filename: str | None = None
    clinic_id: int | None = None  # whose settings (phone, time zone) the intent renders with


async def _core(session: AsyncSession, statement: Any) -> Any:
    """Run `statement` on the session's connection, past the ORM's execution layer (its bulk
    UPDATE … RETURNING and ORM result handling cost more CPU than SQLite's work for the relay's
    per-message statements: bench/intake.py --profile). Nothing is loaded into the session."""
    conn = await session.connection()
    return await conn.execute(statement)


def _due(row: Any) -> Due:
    return Due(
        id=row.id,
        chat_id=row.chat_id,
        method=row.method,
        interactive=row.kind in INTERACTIVE_KINDS or row.source_update_id is not None,
        not_before=row.not_before,
        retrying=row.attempts > 0,
    )


_DUE_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.chat_id,
    OutboxMessage.method,
    OutboxMessage.kind,
    OutboxMessage.source_update_id,
    OutboxMessage.not_before,
    OutboxMessage.attempts,
)


async def due_rows(session: AsyncSession, now: datetime, limit: int) -> list[Due]:
    """Pending rows to schedule, in id order: those due now, and those waiting for a retry
    (they hold their chat's later rows back, so the chat's order is kept)."""
    rows = await session.execute(
        select(*_DUE_COLUMNS)
        .where(
            OutboxMessage.status == "pending",
            or_(OutboxMessage.not_before <= now, OutboxMessage.attempts > 0),
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [_due(r) for r in rows]


async def rows_by_id(session: AsyncSession, ids: Sequence[int], now: datetime) -> list[Due]:
    """The given rows if still pending and due (the fast path right after a turn's commit)."""
    if not ids:
        return []
    rows = await _core(
        session,
        select(*_DUE_COLUMNS)
        .where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.status == "pending",
            or_(OutboxMessage.not_before <= now, OutboxMessage.attempts > 0),
        )
        .order_by(OutboxMessage.id),
    )
    return [_due(r) for r in rows]


async def next_scheduled(session: AsyncSession, now: datetime) -> datetime | None:
    """When the next row queued for later (`not_before` in the future, never tried) falls due."""
    result: datetime | None = await session.scalar(
        select(func.min(OutboxMessage.not_before)).where(
            OutboxMessage.status == "pending",
            OutboxMessage.attempts == 0,
            OutboxMessage.not_before > now,
        )
    )
    return result


async def recover(session: AsyncSession) -> int:
    """At start: rows left in `sending` by a crash go back to pending, counted uncertain."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending")
        .values(
            status="pending",
            uncertain=OutboxMessage.uncertain + 1,
            last_error="interrupted between send and mark (restart)",
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


_CLAIMED_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.chat_id,
    OutboxMessage.account_id,
    OutboxMessage.method,
    OutboxMessage.payload,
    OutboxMessage.attachment,
    OutboxMessage.file_id,
    OutboxMessage.attempts,
    OutboxMessage.uncertain,
    OutboxMessage.template,
    OutboxMessage.params,
    OutboxMessage.clinic_id,
    # The recipient's language of this moment, read by the claim itself (no second SELECT).
    select(Account.language)
    .where(Account.id == OutboxMessage.account_id)
    .scalar_subquery()
    .label("language"),
)


async def claim(session: AsyncSession, row_id: int, now: datetime) -> Claimed | None:
    """Mark the row `sending` (committed by the caller before the request goes out).

    None when it is no longer pending, or has expired (then it is marked so). One UPDATE …
    RETURNING, not an ORM load and flush: the relay claims every message it sends.
    """
    row = (
        await _core(
            session,
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.status == "pending",
                or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
            )
            .values(status="sending", attempts=OutboxMessage.attempts + 1)
            .returning(*_CLAIMED_COLUMNS),
        )
    ).one_or_none()
    if row is None:
        await _expire(session, row_id, now)
        return None
    attachment, filename = row.attachment, None
    if row.file_id is not None:
        stored = (
            await session.execute(
                select(StoredFile.data, StoredFile.filename).where(StoredFile.id == row.file_id)
            )
        ).one_or_none()
        if stored is not None:
            attachment, filename = stored.data, stored.filename
    return Claimed(
        id=row.id,
        chat_id=row.chat_id,
        method=row.method,
        payload=None if row.payload is None else dict(row.payload),
        attachment=attachment,
        attempts=row.attempts,
        uncertain=row.uncertain,
        template=row.template,
        params=decode_params(row.params),
        language=row.language,
        filename=filename,
        clinic_id=row.clinic_id,
    )


async def _expire(session: AsyncSession, row_id: int, now: datetime) -> None:
    """A row not claimed: if it is pending but past `expires_at`, it is useless now."""
    row = await session.get(OutboxMessage, row_id)
    if row is None or row.status != "pending":
        return
    if row.expires_at is not None and now >= row.expires_at:
        row.status = "expired"
        row.last_error = "expired before it could be sent"
        await _settled(session, row)


async def _settled(session: AsyncSession, row: OutboxMessage) -> None:
    """A row reached its end: its file has served (erased when no other row still needs it)."""
    if row.file_id is None:
        return
    file_id, row.file_id = row.file_id, None
    await session.flush()
    waiting = await session.scalar(
        select(func.count(OutboxMessage.id)).where(
            OutboxMessage.file_id == file_id,
            OutboxMessage.status.in_(("pending", "sending")),
        )
    )
    if not waiting:
        await session.execute(delete(StoredFile).where(StoredFile.id == file_id))


async def release(session: AsyncSession, row_id: int) -> None:
    """Undo a claim whose request was never made (the relay stopped in between)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.status == "sending")
        .values(status="pending", attempts=OutboxMessage.attempts - 1)
    )


async def mark_sent(
    session: AsyncSession, row_id: int, message_id: int | None, now: datetime
) -> None:
    file_id = (
        await _core(
            session,
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id)
            .values(status="sent", sent_at=now, telegram_message_id=message_id, last_error=None)
            .returning(OutboxMessage.file_id),
        )
    ).scalar()
    if file_id is not None:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        await _settled(session, row)


async def defer(
    session: AsyncSession, row_id: int, until: datetime, error: str, *, uncertain: bool
) -> None:
    """Back to pending until `until`; `uncertain`: this attempt may have delivered it."""
    values: dict[str, Any] = {"status": "pending", "not_before": until, "last_error": error[:300]}
    if uncertain:
        values["uncertain"] = OutboxMessage.uncertain + 1
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


async def _escalate(
    session: AsyncSession, row: OutboxMessage, kind: str, reason: str, now: datetime
) -> None:
    if row.account_id is not None:
        await phone_unreachable(session, row.account_id, kind, reason, now)


async def mark_undeliverable(session: AsyncSession, row_id: int, error: str, now: datetime) -> None:
    """Telegram refuses this chat (blocked, deleted, never started): mark the row and the
    account, and give the heads a "phone this patient" task (once per account)."""
    row = await session.get(OutboxMessage, row_id)
    if row is None:
        return
    row.status = "undeliverable"
    row.last_error = error[:300]
    await _settled(session, row)
    if row.account_id is not None:
        account = await session.get(Account, row.account_id)
        if account is not None and account.undeliverable_at is None:
            account.undeliverable_at = now
    await _escalate(session, row, KIND_UNREACHABLE, error, now)


async def mark_failed(
    session: AsyncSession, row_id: int, error: str, now: datetime, *, escalate: bool
) -> None:
    """Given up (malformed, or every attempt failed). `escalate`: a person may be missing a
    message they needed, so the heads phone them."""
    row = await session.get(OutboxMessage, row_id)
    if row is None:
        return
    row.status = "failed"
    row.last_error = error[:300]
    await _settled(session, row)
    if escalate:
        await _escalate(session, row, KIND_UNDELIVERED, error, now)


async def counts(session: AsyncSession) -> dict[str, int]:
    """Rows per status (for logs, tests and benchmarks)."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)
    )
    return {status: int(n) for status, n in rows}
