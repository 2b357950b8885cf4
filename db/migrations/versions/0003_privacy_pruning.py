"""privacy: `pruned_at` on inbox and outbox (content erased by retention or a deletion request)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 05:45:00

Raw updates and sent messages keep their ids (update_id, dedupe_key) after their content is
erased; `pruned_at` says when, so the retention sweep skips rows it already emptied.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("pruned_at", db.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("pruned_at", db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("pruned_at")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("pruned_at")
