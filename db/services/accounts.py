"""Accounts, roles and the clinic row: who is talking to the bot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from db.models import Account, AccountRole, Clinic
from db.types import utcnow

ROLES = ("patient", "caregiver", "nurse", "head", "admin", "city_admin")
# Roles that make an account staff of the clinic they are held in (the person's clinic).
STAFF_ROLES = frozenset({"nurse", "head", "admin", "city_admin"})
# `last_seen_at` is written when it is older than this: an UPDATE of the account on every
# update cost the intake a statement per update for a figure nobody needs to the second.
SEEN_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class TelegramIdentity:
    """The few facts about a Telegram user the bot keeps (no telegram import here)."""

    user_id: int
    chat_id: int
    first_name: str
    username: str | None
    language: str  # already normalised to one of ours


async def ensure_clinic(session: AsyncSession, code: str, name: str, timezone: str) -> int:
    clinic_id = await session.scalar(select(Clinic.id).where(Clinic.code == code))
    if clinic_id is None:
        clinic = Clinic(code=code, name=name, timezone=timezone)
        session.add(clinic)
        await session.flush()
        return clinic.id
    return clinic_id


async def touch_account(session: AsyncSession, who: TelegramIdentity) -> Account:
    """The account for this Telegram user, created on first contact, refreshed on each update.

    One SELECT joins the roles in (the relationship's own `selectin` would be a second one);
    the row is written only when something changed or `last_seen_at` is `SEEN_EVERY` old."""
    account = (
        (
            await session.execute(
                select(Account)
                .options(joinedload(Account.roles))
                .where(Account.telegram_user_id == who.user_id)
            )
        )
        .unique()
        .scalar_one_or_none()
    )
    now = utcnow()
    if account is None:
        account = Account(
            telegram_user_id=who.user_id,
            chat_id=who.chat_id,
            first_name=who.first_name[:200],
            username=who.username,
            language=who.language,
            language_chosen=False,
            last_seen_at=now,
            roles=[],  # a new row: no lazy load of an empty relationship
        )
        session.add(account)
        await session.flush()
        return account
    account.chat_id = who.chat_id
    if account.last_seen_at is None or now - account.last_seen_at >= SEEN_EVERY:
        account.last_seen_at = now
    if account.deleted_at is None:
        account.first_name = who.first_name[:200]
        account.username = who.username
    if not account.language_chosen:
        account.language = who.language
    # A message from the person proves the chat works again.
    account.undeliverable_at = None
    return account


async def set_language(session: AsyncSession, account: Account, language: str) -> None:
    account.language = language
    account.language_chosen = True


def roles_of(account: Account, clinic_id: int) -> frozenset[str]:
    return frozenset(r.role for r in account.roles if r.clinic_id == clinic_id)


async def grant_role(session: AsyncSession, account: Account, clinic_id: int, role: str) -> bool:
    """Give `role`; returns False when the account already had it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if role in roles_of(account, clinic_id):
        return False
    account.roles.append(AccountRole(clinic_id=clinic_id, role=role))
    await session.flush()
    return True
