"""Tables of the web console (bot/web): single-use login links and signed-in sessions.

Only hashes of the secrets are stored (SHA-256 of ≥ 256 random bits): a copy of the database
cannot be used to sign in. Rows name the account and clinic, nothing personal.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from db.models import Base
from db.types import UTCDateTime, utcnow


class _Secret:
    """Columns both tables share: the secret's hash, whose it is, since when."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinics.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsoleLogin(_Secret, Base):
    """A login link sent by /konsol: works once, for a few minutes, for one account and clinic."""

    __tablename__ = "console_logins"
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ConsoleSession(_Secret, Base):
    """A signed-in browser. The cookie holds the secret; the row its hash."""

    __tablename__ = "console_sessions"
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
