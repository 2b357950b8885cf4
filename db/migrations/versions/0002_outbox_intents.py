"""outbox intents: template + params rendered at send time; attachments as erasable file rows

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 21:50:00

Rows queued before this revision keep their rendered `payload` (and inline `attachment`) and
still send: the relay renders only rows that carry a `template`.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stored_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_stored_files_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_stored_files_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_files")),
    )
    op.create_index(
        op.f("ix_stored_files_account_id"), "stored_files", ["account_id"], unique=False
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("template", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("file_id", sa.Integer(), nullable=True))
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=True)
        batch.create_foreign_key(
            batch.f("fk_outbox_file_id_stored_files"),
            "stored_files",
            ["file_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    # Intents cannot be turned back into rendered payloads here: unsent ones are dropped.
    op.execute("DELETE FROM outbox WHERE payload IS NULL")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint("fk_outbox_file_id_stored_files", type_="foreignkey")
        batch.alter_column("payload", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("file_id")
        batch.drop_column("params")
        batch.drop_column("template")
    op.drop_index(op.f("ix_stored_files_account_id"), table_name="stored_files")
    op.drop_table("stored_files")
