"""visit history detail: reschedules and plan changes as rows with a machine-readable detail

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 06:00:00

A reschedule of a visit not yet planned changed no status, so it left no trace; a plan run that
gives a visit another nurse or time neither. Such events are history rows whose status does not
change (from_status == to_status) with `detail` = {"event": "moved"|"plan", ...}.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("visit_status_history") as batch:
        batch.add_column(sa.Column("detail", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("visit_status_history") as batch:
        batch.drop_column("detail")
