"""Staff invites: single-use links that make a Telegram account a nurse or a clinic head.

The code is 128 random bits (`secrets.token_urlsafe(16)`, 22 characters that fit Telegram's
deep-link alphabet); only its SHA-256 is stored, so a copy of the database cannot be turned into
working links. An invite is bound to one clinic and one role, expires after 24 hours and works
once: using it is a conditional UPDATE (`used_at IS NULL AND expires_at > now`), so of two
simultaneous uses exactly one changes the row and the other is refused, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Account, Invite, Nurse
from db.services import audit
from db.services.accounts import grant_role

PAYLOAD_PREFIX = "inv_"
INVITE_ROLES = ("nurse", "head")
# Only the operator's CLI (`homecare invite --role city_admin`) may invite a city admin.
CLI_ROLES = (*INVITE_ROLES, "city_admin")
LIFETIME = timedelta(hours=24)
DEFAULT_DAILY_CAP = 8
MAX_NAME = 200


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def clinic_of(session: AsyncSession, code: str) -> int | None:
    """The clinic an invite code was made for (a newcomer's turn does not know it yet)."""
    return await session.scalar(select(Invite.clinic_id).where(Invite.code_hash == code_hash(code)))


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={PAYLOAD_PREFIX}{code}"


def clean_name(raw: str) -> str | None:
    """A person's name as typed, trimmed; None when empty or implausibly long."""
    name = " ".join(raw.split())
    if not name or len(name) > MAX_NAME or name.startswith("/"):
        return None
    return name


@dataclass(frozen=True)
class NewInvite:
    invite_id: int
    code: str  # shown once, never stored
    role: str
    name: str
    expires_at: datetime


async def create(
    session: AsyncSession,
    *,
    clinic_id: int,
    role: str,
    name: str,
    now: datetime,
    created_by_account_id: int | None = None,
    actor_role: str = "system",
    roles: tuple[str, ...] = INVITE_ROLES,
) -> NewInvite:
    """Store a new invite (its hash) and return the code to hand over."""
    if role not in roles:
        raise ValueError(f"invites are for {' or '.join(roles)}, not {role!r}")
    cleaned = clean_name(name)
    if cleaned is None:
        raise ValueError("the invited person's name is empty or too long")
    code = secrets.token_urlsafe(16)
    row = Invite(
        clinic_id=clinic_id,
        role=role,
        name=cleaned,
        code_hash=code_hash(code),
        created_by_account_id=created_by_account_id,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    session.add(row)
    await session.flush()
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=created_by_account_id,
        actor_role=actor_role,
        action=audit.INVITE_CREATED,
        subject=f"invite:{row.id}:{role}",
        at=now,
    )
    return NewInvite(row.id, code, role, cleaned, row.expires_at)


class Refusal(enum.StrEnum):
    """Why an invite could not be used; the value is the locale key's last part."""

    UNKNOWN = "invite_unknown"
    USED = "invite_used"
    EXPIRED = "invite_expired"


@dataclass(frozen=True)
class Accepted:
    role: str
    name: str
    nurse_id: int | None
    newly_granted: bool


class InviteRefused(Exception):
    def __init__(self, reason: Refusal) -> None:
        super().__init__(reason.value)
        self.reason = reason


def code_from_payload(payload: str) -> str | None:
    """The code from a /start payload ``inv_<code>``; None when it is not an invite."""
    if not payload.startswith(PAYLOAD_PREFIX):
        return None
    code = payload[len(PAYLOAD_PREFIX) :]
    if not 16 <= len(code) <= 60:
        return ""
    return code


async def accept(
    session: AsyncSession,
    *,
    clinic_id: int,
    code: str,
    account: Account,
    now: datetime,
    shift: tuple[time, time],
) -> Accepted:
    """Use the invite: claim it atomically, grant the role, create or link the nurse row.

    Raises `InviteRefused` (unknown, already used, expired) and changes nothing then.
    """
    digest = code_hash(code)
    claimed = await session.execute(
        update(Invite)
        .where(
            Invite.code_hash == digest,
            Invite.clinic_id == clinic_id,
            Invite.used_at.is_(None),
            Invite.expires_at > now,
        )
        .values(used_at=now, used_by_account_id=account.id)
        .returning(Invite.id, Invite.role, Invite.name)
    )
    row = claimed.first()
    if row is None:
        invite = await session.scalar(
            select(Invite).where(Invite.code_hash == digest, Invite.clinic_id == clinic_id)
        )
        if invite is None:
            raise InviteRefused(Refusal.UNKNOWN)
        if invite.used_at is not None:
            raise InviteRefused(Refusal.USED)
        raise InviteRefused(Refusal.EXPIRED)
    invite_id, role, name = row
    await session.refresh(account, ["roles"])  # the role check below reads the collection
    granted = await grant_role(session, account, clinic_id, role)
    nurse_id = None
    if role == "nurse":
        nurse_id = await _link_nurse(session, clinic_id, account, name, shift)
    await audit.append(
        session,
        clinic_id=clinic_id,
        actor_account_id=account.id,
        actor_role=role,
        action=audit.INVITE_USED,
        subject=f"invite:{invite_id}:{role}",
        at=now,
    )
    return Accepted(role, name, nurse_id, granted)


async def _link_nurse(
    session: AsyncSession, clinic_id: int, account: Account, name: str, shift: tuple[time, time]
) -> int:
    """The account's nurse row: reactivated if it existed, else a same-named unlinked row of this
    clinic is linked, else a new one (skills are set later by a head)."""
    nurse = await session.scalar(select(Nurse).where(Nurse.account_id == account.id))
    if nurse is None:
        nurse = await session.scalar(
            select(Nurse)
            .where(Nurse.clinic_id == clinic_id, Nurse.account_id.is_(None), Nurse.name == name)
            .limit(1)
        )
        if nurse is not None:
            nurse.account_id = account.id
    if nurse is None:
        nurse = Nurse(
            clinic_id=clinic_id,
            account_id=account.id,
            name=name,
            skills=[],
            daily_cap=DEFAULT_DAILY_CAP,
            shift_start=shift[0],
            shift_end=shift[1],
            active=True,
        )
        session.add(nurse)
    else:
        nurse.clinic_id = clinic_id
        nurse.active = True
        nurse.name = name
    await session.flush()
    return nurse.id
