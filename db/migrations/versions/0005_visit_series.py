"""visit series: recurring visits set up by a head, and follow-ups asked for at "Selesai"

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:30:00

Each occurrence stays an ordinary visit (reminders, capacity, planning unchanged); the visit
only points at its series, or at the visit whose "Selesai" asked for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "visit_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("service_type", sa.String(length=40), nullable=False),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("window_start", sa.Time(), nullable=False),
        sa.Column("window_end", sa.Time(), nullable=False),
        sa.Column("created_by_account_id", sa.Integer(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_visit_series_clinic_id_clinics")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_visit_series_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_account_id"],
            ["accounts.id"],
            name=op.f("fk_visit_series_created_by_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_series")),
    )
    op.create_index(
        op.f("ix_visit_series_patient_id"), "visit_series", ["patient_id"], unique=False
    )
    with op.batch_alter_table("visits") as batch:
        batch.add_column(sa.Column("series_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("follow_up_of", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_visits_series_id"), ["series_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_visits_series_id_visit_series"),
            "visit_series",
            ["series_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            batch.f("fk_visits_follow_up_of_visits"),
            "visits",
            ["follow_up_of"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("visits") as batch:
        batch.drop_constraint("fk_visits_follow_up_of_visits", type_="foreignkey")
        batch.drop_constraint("fk_visits_series_id_visit_series", type_="foreignkey")
        batch.drop_index("ix_visits_series_id")
        batch.drop_column("follow_up_of")
        batch.drop_column("series_id")
    op.drop_index(op.f("ix_visit_series_patient_id"), table_name="visit_series")
    op.drop_table("visit_series")
