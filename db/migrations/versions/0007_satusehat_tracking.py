"""SATUSEHAT: nurses' IHS numbers, accepted visits, submission runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("nurses") as batch:
        batch.add_column(sa.Column("ihs_number", sa.String(length=20), nullable=True))
    op.create_table(
        "satusehat_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("encounter_id", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_satusehat_sent_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_satusehat_sent_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satusehat_sent")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_satusehat_sent_visit_id")),
    )
    op.create_index(
        op.f("ix_satusehat_sent_clinic_id"), "satusehat_sent", ["clinic_id"], unique=False
    )
    op.create_table(
        "satusehat_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("sent", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("no_nik", sa.Integer(), nullable=False),
        sa.Column("unknown_patient", sa.Integer(), nullable=False),
        sa.Column("no_practitioner", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=True),
        sa.Column("detail", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinics.id"], name=op.f("fk_satusehat_runs_clinic_id_clinics")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satusehat_runs")),
    )
    op.create_index(
        op.f("ix_satusehat_runs_clinic_id"), "satusehat_runs", ["clinic_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_satusehat_runs_clinic_id"), table_name="satusehat_runs")
    op.drop_table("satusehat_runs")
    op.drop_index(op.f("ix_satusehat_sent_clinic_id"), table_name="satusehat_sent")
    op.drop_table("satusehat_sent")
    with op.batch_alter_table("nurses") as batch:
        batch.drop_column("ihs_number")
