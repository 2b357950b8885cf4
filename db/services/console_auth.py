"""Signing in to the web console without passwords.

A head or nurse sends /konsol and gets a link holding a random secret (256 bits). The link works
once, for `[web] login_link_min` minutes, for that account and clinic; redeeming it opens a
session whose secret goes into an HttpOnly cookie. Only SHA-256 hashes of both secrets are
stored. A session ends after `session_idle_min` without a request, `session_max_hours` after it
began, at logout, or as soon as the account loses its staff role in that clinic (checked on
every request, with the same role rules as the bot).

The CSRF token of a session is derived from its secret (HMAC), so forms can carry it without a
second stored value and a page of one session cannot forge a form of another.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account
from db.models_console import ConsoleLogin, ConsoleSession
from db.services.accounts import STAFF_ROLES as STAFF_ROLES
from db.services.accounts import roles_of
from homecare.config import WebConfig

# Login link secrets and session secrets: 32 random bytes each, URL-safe text.
SECRET_BYTES = 32
TOUCH_EVERY = timedelta(minutes=1)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token(session_secret: str) -> str:
    return hmac.new(session_secret.encode(), b"homecare-console-csrf", "sha256").hexdigest()


def csrf_ok(session_secret: str, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(csrf_token(session_secret), str(sent))


def staff_roles(account: Account, clinic_id: int) -> frozenset[str]:
    """The account's staff roles in the clinic: the bot's own role rule (`roles_of`)."""
    return roles_of(account, clinic_id) & STAFF_ROLES


async def create_login_link(
    session: AsyncSession, web: WebConfig, account: Account, clinic_id: int, now: datetime
) -> str | None:
    """The secret for a new login link, or None when the account holds no staff role here."""
    if account.deleted_at is not None or not staff_roles(account, clinic_id):
        return None
    secret = secrets.token_urlsafe(SECRET_BYTES)
    session.add(
        ConsoleLogin(
            token_hash=digest(secret),
            account_id=account.id,
            clinic_id=clinic_id,
            created_at=now,
            expires_at=now + timedelta(minutes=web.login_link_min),
        )
    )
    await session.flush()
    return secret


@dataclass(frozen=True)
class Staff:
    """Who is signed in: the account, its clinic and its staff roles there."""

    account: Account
    clinic_id: int
    roles: frozenset[str]
    session_id: int
    # Its last_seen_at is over a minute old: the caller records the request (`touch`), so pages
    # need not take the write lock on every view.
    needs_touch: bool = False

    @property
    def is_head(self) -> bool:
        return bool(self.roles & {"head", "admin", "city_admin"})

    @property
    def is_city_admin(self) -> bool:
        """Sees every clinic of the install (the console's clinic picker)."""
        return "city_admin" in self.roles

    @property
    def is_nurse(self) -> bool:
        return "nurse" in self.roles

    @property
    def role(self) -> str:
        """The role written to the audit log."""
        if self.is_city_admin and not self.roles & {"head", "admin"}:
            return "city_admin"
        return "head" if self.is_head else "nurse"


async def redeem(
    session: AsyncSession, secret: str, now: datetime
) -> tuple[str, ConsoleSession] | None:
    """Use a login link once: (session secret, session), or None when the link is unknown, used,
    expired, or its account is no longer staff there. Call inside a write transaction."""
    if not secret or len(secret) > 100:
        return None
    # The row is claimed by one UPDATE so two browsers opening one link cannot both sign in.
    claimed = await session.execute(
        update(ConsoleLogin)
        .where(
            ConsoleLogin.token_hash == digest(secret),
            ConsoleLogin.used_at.is_(None),
            ConsoleLogin.expires_at > now,
        )
        .values(used_at=now)
        .returning(ConsoleLogin.account_id, ConsoleLogin.clinic_id)
    )
    row = claimed.first()
    if row is None:
        return None
    account_id, clinic_id = row
    account = await session.get(Account, account_id)
    if account is None or account.deleted_at is not None:
        return None
    if not staff_roles(account, clinic_id):
        return None
    return await _open(session, account_id, clinic_id, now)


async def open_for_telegram_user(
    session: AsyncSession,
    telegram_user_id: int,
    clinic_of: Callable[[Account], int],
    now: datetime,
) -> tuple[str, ConsoleSession] | None:
    """A session for the staff account of a Telegram user vouched for by Mini App data
    (bot/web/initdata.py), or None when that user is no staff member of their clinic
    (`clinic_of`: the person's clinic, bot.clinics)."""
    account = await session.scalar(
        select(Account).where(Account.telegram_user_id == telegram_user_id)
    )
    if account is None or account.deleted_at is not None:
        return None
    clinic_id = clinic_of(account)
    if not staff_roles(account, clinic_id):
        return None
    return await _open(session, account.id, clinic_id, now)


async def _open(
    session: AsyncSession, account_id: int, clinic_id: int, now: datetime
) -> tuple[str, ConsoleSession]:
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = ConsoleSession(
        token_hash=digest(secret),
        account_id=account_id,
        clinic_id=clinic_id,
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    await session.flush()
    return secret, row


async def signed_in(
    session: AsyncSession, web: WebConfig, secret: str | None, now: datetime
) -> Staff | None:
    """The staff member behind a session cookie, or None (unknown, ended, idle, too old, no
    longer staff). Reads only; see `Staff.needs_touch`."""
    if not secret or len(secret) > 100:
        return None
    row = await session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == digest(secret))
    )
    if row is None or row.ended_at is not None:
        return None
    if row.last_seen_at + timedelta(minutes=web.session_idle_min) < now:
        return None
    if row.created_at + timedelta(hours=web.session_max_hours) < now:
        return None
    account = await session.get(Account, row.account_id)
    if account is None or account.deleted_at is not None:
        return None
    roles = staff_roles(account, row.clinic_id)
    if not roles:
        return None
    stale = row.last_seen_at + TOUCH_EVERY < now
    return Staff(account, row.clinic_id, roles, row.id, needs_touch=stale)


async def touch(session: AsyncSession, session_id: int, now: datetime) -> None:
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(last_seen_at=now)
    )


async def sign_out(session: AsyncSession, session_id: int, now: datetime) -> None:
    await session.execute(
        update(ConsoleSession).where(ConsoleSession.id == session_id).values(ended_at=now)
    )


async def end_sessions(
    session: AsyncSession, account_id: int, clinic_id: int, now: datetime
) -> None:
    """The account stopped being staff in the clinic: its open sessions there end."""
    await session.execute(
        update(ConsoleSession)
        .where(
            ConsoleSession.account_id == account_id,
            ConsoleSession.clinic_id == clinic_id,
            ConsoleSession.ended_at.is_(None),
        )
        .values(ended_at=now)
    )


async def forget_account(session: AsyncSession, account_id: int) -> None:
    """Deletion of an account: its links and sessions go (they would let nobody in anyway)."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.account_id == account_id))
    await session.execute(delete(ConsoleLogin).where(ConsoleLogin.account_id == account_id))


__all__ = [
    "Staff",
    "create_login_link",
    "csrf_ok",
    "csrf_token",
    "end_sessions",
    "forget_account",
    "open_for_telegram_user",
    "redeem",
    "sign_out",
    "signed_in",
    "staff_roles",
    "touch",
]
