"""Queue messages in the outbox, in the caller's transaction (the relay sends them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import OutboxMessage
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
    """Add one outbox row; with `dedupe_key`, a second call for the same key adds nothing."""
    if dedupe_key is not None:
        existing = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
        )
        if existing is not None:
            return None
    row = OutboxMessage(
        chat_id=chat_id,
        method=method,
        payload=payload,
        kind=kind,
        clinic_id=clinic_id,
        account_id=account_id,
        source_update_id=source_update_id,
        dedupe_key=dedupe_key,
        attachment=attachment,
        not_before=not_before or utcnow(),
    )
    session.add(row)
    await session.flush()
    return row
