"""Where a person is in a multi-step flow, kept in the database (`conversations`, one per account).

A restart of the bot loses nothing: the next update reads the step from here and continues. Every
step change draws a new `nonce`; inline buttons carry it, so a button from an older message (or a
forged one) is recognised as stale. Input that a step refuses must not touch the row (not even
`updated_at`): bad input changes nothing, and the idle clock counts from the last accepted step.

Idle conversations end with a message: lazily, when the person writes again
(`is_idle`), and by the job `expire_idle_conversations`, which the scheduler runs every few minutes.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Conversation
from db.services import outbox

NONCE_ALPHABET = string.ascii_letters + string.digits
NONCE_LENGTH = 6


def new_nonce() -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(NONCE_LENGTH))


async def load(session: AsyncSession, account_id: int) -> Conversation | None:
    return await session.get(Conversation, account_id)


async def begin(
    session: AsyncSession,
    account_id: int,
    flow: str,
    step: str,
    data: dict[str, Any] | None,
    now: datetime,
) -> Conversation:
    """Start `flow` at `step`, replacing whatever conversation the person had."""
    conv = await session.get(Conversation, account_id)
    if conv is None:
        conv = Conversation(account_id=account_id)
        session.add(conv)
    conv.flow = flow
    conv.step = step
    conv.data = dict(data or {})
    conv.nonce = new_nonce()
    conv.updated_at = now
    await session.flush()
    return conv


def advance(conv: Conversation, step: str, now: datetime, **changes: Any) -> None:
    """Move to `step`, merging `changes` into the data (a value of None removes the key)."""
    data = dict(conv.data or {})
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    # A new dict: the JSON column notices assignment, not mutation.
    conv.data = data
    conv.step = step
    conv.nonce = new_nonce()
    conv.updated_at = now


async def finish(session: AsyncSession, conv: Conversation) -> None:
    await session.delete(conv)
    await session.flush()


async def finish_for(session: AsyncSession, account_id: int) -> None:
    await session.execute(delete(Conversation).where(Conversation.account_id == account_id))


def is_idle(conv: Conversation, now: datetime, idle_min: int) -> bool:
    return conv.updated_at + timedelta(minutes=idle_min) < now


async def expire_idle_conversations(
    db: Any,
    now: datetime,
    idle_min: int = 30,
    flows: Collection[str] | None = None,
) -> int:
    """End every conversation idle for more than `idle_min` minutes and tell the person.

    `db` is a `db.session.Database`. `flows` limits the sweep to those flows (None: all).
    Returns how many conversations ended. Safe to run twice: the row is gone after the first run,
    and the message has a dedupe key per conversation step.
    """
    cutoff = now - timedelta(minutes=idle_min)
    async with db.transaction() as session:
        query = (
            select(Conversation, Account)
            .join(Account, Account.id == Conversation.account_id)
            .where(Conversation.updated_at < cutoff)
        )
        if flows is not None:
            query = query.where(Conversation.flow.in_(list(flows)))
        rows = list((await session.execute(query)).all())
        for conv, account in rows:
            if account.deleted_at is None:
                await outbox.tell(
                    session,
                    chat_id=account.chat_id,
                    template="patient.conversation_expired",
                    params={"flow": conv.flow},
                    kind="conversation_expired",
                    account_id=account.id,
                    dedupe_key=f"conv-expired:{account.id}:{conv.nonce}",
                )
            await session.delete(conv)
        return len(rows)
