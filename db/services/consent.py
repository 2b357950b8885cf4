"""Consent: recorded before any personal or health data is stored.

A consent row keeps who agreed (account), for whom (`patient_id`; None for the account's own use
of the service), when (UTC), the configured text version and the SHA-256 of the exact text shown,
in the language it was shown in. Refusing stores nothing. A caregiver consents on behalf of each
patient they add; changing `[privacy] consent_version` asks everyone again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Consent


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def has_account_consent(session: AsyncSession, account_id: int, version: str) -> bool:
    """The account agreed to the current text version and has not withdrawn."""
    found = await session.scalar(
        select(Consent.id)
        .where(
            Consent.account_id == account_id,
            Consent.patient_id.is_(None),
            Consent.text_version == version,
            Consent.withdrawn_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def account_consent(session: AsyncSession, account_id: int, version: str) -> Consent | None:
    """The account's latest own consent to this text version (not withdrawn)."""
    return await session.scalar(
        select(Consent)
        .where(
            Consent.account_id == account_id,
            Consent.patient_id.is_(None),
            Consent.text_version == version,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.id.desc())
        .limit(1)
    )


async def record(
    session: AsyncSession,
    *,
    account_id: int,
    patient_id: int | None,
    version: str,
    shown_hash: str,
    language: str,
    now: datetime,
) -> Consent:
    row = Consent(
        account_id=account_id,
        patient_id=patient_id,
        text_version=version,
        text_hash=shown_hash,
        language=language,
        given_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def withdraw_all(session: AsyncSession, account_id: int, now: datetime) -> None:
    await session.execute(
        update(Consent)
        .where(Consent.account_id == account_id, Consent.withdrawn_at.is_(None))
        .values(withdrawn_at=now)
    )
