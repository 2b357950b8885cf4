"""web console: single-use login links and signed-in sessions (hashes only)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _table(name: str, *extra: sa.Column[object]) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        *extra,
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f(f"fk_{name}_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f(f"fk_{name}_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{name}_token_hash")),
    )
    op.create_index(op.f(f"ix_{name}_account_id"), name, ["account_id"], unique=False)


def upgrade() -> None:
    _table(
        "console_logins",
        sa.Column("expires_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", db.types.UTCDateTime(timezone=True), nullable=True),
    )
    _table(
        "console_sessions",
        sa.Column("last_seen_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", db.types.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    for name in ("console_sessions", "console_logins"):
        op.drop_index(op.f(f"ix_{name}_account_id"), table_name=name)
        op.drop_table(name)
