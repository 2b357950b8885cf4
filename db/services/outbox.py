"""Queue messages in the outbox, in the caller's transaction (the relay sends them).

Services record intents with `tell` (template key + parameters; rendered at send time in the
recipient's language of that moment). `queue` keeps a rendered payload: a turn's reply to the
person who is waiting. Attachments are `StoredFile` rows (`store_file`), erased once delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.bulk import insert_all
from db.intents import encode_params
from db.models import OutboxMessage, StoredFile
from db.types import utcnow


async def queue(
    session: AsyncSession,
    *,
    chat_id: int,
    method: str,
    payload: dict[str, Any],
    kind: str = "reply",
    clinic_id: int | None = None,
    account_id: int | None = None,
    source_update_id: int | None = None,
    dedupe_key: str | None = None,
    attachment: bytes | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage | None:
    """Add one rendered outbox row; with `dedupe_key`, a second call for the same key adds
    nothing. `payload` may name `__attachment__` {field, filename}: `attachment`'s bytes fill
    it, kept in a `StoredFile` row (erased once sent), never inside the outbox row."""
    if await _seen(session, dedupe_key):
        return None
    file = None
    if attachment is not None:
        spec = payload.get("__attachment__") or {}
        name = str(spec.get("filename") or "file")
        file = await store_file(
            session, attachment, name, account_id=account_id, clinic_id=clinic_id
        )
    row = OutboxMessage(
        chat_id=chat_id,
        method=method,
        payload=payload,
        kind=kind,
        clinic_id=clinic_id,
        account_id=account_id,
        source_update_id=source_update_id,
        dedupe_key=dedupe_key,
        file_id=None if file is None else file.id,
        not_before=not_before or utcnow(),
    )
    session.add(row)
    await session.flush()
    return row


async def _seen(session: AsyncSession, dedupe_key: str | None) -> bool:
    if dedupe_key is None:
        return False
    existing = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    )
    return existing is not None


def intent_row(**kw: Any) -> OutboxMessage:
    """An intent row, not yet added: for batch writers that check `dedupe_key` themselves
    (arguments as `intent_values`)."""
    return OutboxMessage(**intent_values(**kw))


def intent_values(
    *,
    chat_id: int,
    template: str,
    params: dict[str, Any] | None = None,
    kind: str = "notice",
    method: str = "sendMessage",
    clinic_id: int | None = None,
    account_id: int | None = None,
    source_update_id: int | None = None,
    dedupe_key: str | None = None,
    file_id: int | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """An intent row's values (the plan's write builds its rows before the lock).

    `method` is the template's usual Bot API method (the relay paces messages by it); the
    template may choose another at send time.
    """
    return {
        "chat_id": chat_id,
        "method": method,
        "template": template,
        "params": encode_params(params or {}),
        "payload": None,
        "kind": kind,
        "clinic_id": clinic_id,
        "account_id": account_id,
        "source_update_id": source_update_id,
        "dedupe_key": dedupe_key,
        "file_id": file_id,
        "not_before": not_before or utcnow(),
        "expires_at": expires_at,
    }


async def tell(
    session: AsyncSession,
    *,
    chat_id: int,
    template: str,
    params: dict[str, Any] | None = None,
    kind: str = "notice",
    method: str = "sendMessage",
    clinic_id: int | None = None,
    account_id: int | None = None,
    source_update_id: int | None = None,
    dedupe_key: str | None = None,
    file: StoredFile | None = None,
    not_before: datetime | None = None,
    expires_at: datetime | None = None,
) -> OutboxMessage | None:
    """Record that `chat_id` is to be told `template` with `params` (see db/intents.py).

    With `dedupe_key`, a second call for the same key adds nothing and returns None.
    """
    if await _seen(session, dedupe_key):
        return None
    row = intent_row(
        chat_id=chat_id,
        template=template,
        params=params,
        kind=kind,
        method=method,
        clinic_id=clinic_id,
        account_id=account_id,
        source_update_id=source_update_id,
        dedupe_key=dedupe_key,
        file_id=None if file is None else file.id,
        not_before=not_before,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return row


async def add_new(session: AsyncSession, rows: Sequence[OutboxMessage]) -> list[OutboxMessage]:
    """Insert the `intent_row`s whose `dedupe_key` is not taken yet, checked in one query and
    inserted in one statement: for writers that queue many at once inside a short write
    transaction (the plan's write). The rows are not added to the session (no ids on them)."""
    fresh = unseen(rows, await taken_keys(session, [r.dedupe_key for r in rows]))
    await insert_all(session, fresh)
    return fresh


async def taken_keys(session: AsyncSession, keys: Sequence[str | None]) -> set[str]:
    """Which of `keys` rows already have (one query)."""
    wanted = [k for k in keys if k is not None]
    if not wanted:
        return set()
    found = await session.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(wanted))
    )
    return {k for k in found if k is not None}


def unseen(rows: Sequence[OutboxMessage], taken: set[str]) -> list[OutboxMessage]:
    """`rows` without those whose `dedupe_key` is taken or came earlier in `rows`."""
    seen = set(taken)
    fresh: list[OutboxMessage] = []
    for row in rows:
        if row.dedupe_key is not None:
            if row.dedupe_key in seen:
                continue
            seen.add(row.dedupe_key)
        fresh.append(row)
    return fresh


async def store_file(
    session: AsyncSession,
    data: bytes,
    filename: str,
    *,
    account_id: int | None = None,
    clinic_id: int | None = None,
) -> StoredFile:
    """Keep a file to send; the relay erases it once every row that carries it is settled."""
    stored = StoredFile(data=data, filename=filename, account_id=account_id, clinic_id=clinic_id)
    session.add(stored)
    await session.flush()
    return stored


async def queue_calls(
    session: AsyncSession,
    calls: Sequence[tuple[str, dict[str, Any], bytes | None]],
    *,
    chat_id: int,
    kind: str,
    clinic_id: int,
    account_id: int,
    dedupe_prefix: str,
) -> list[int]:
    """`queue` each (method, payload, attachment) in order, keyed `<dedupe_prefix>:<i>`; the ids
    of the rows added (a call already queued under its key adds none)."""
    ids: list[int] = []
    for i, (method, payload, attachment) in enumerate(calls):
        row = await queue(
            session,
            chat_id=chat_id,
            method=method,
            payload=payload,
            kind=kind,
            clinic_id=clinic_id,
            account_id=account_id,
            dedupe_key=f"{dedupe_prefix}:{i}",
            attachment=attachment,
        )
        if row is not None:
            ids.append(row.id)
    return ids
