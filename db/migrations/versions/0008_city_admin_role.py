"""account_roles: the "city_admin" role (sees every clinic of a city-wide install)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD = "role IN ('patient','caregiver','nurse','head','admin')"
_NEW = "role IN ('patient','caregiver','nurse','head','admin','city_admin')"


def _replace(condition: str) -> None:
    # SQLite cannot alter a CHECK in place: batch mode copies the table.
    with op.batch_alter_table("account_roles") as batch:
        batch.drop_constraint(batch.f("ck_account_roles_role_known"), type_="check")
        batch.create_check_constraint("role_known", condition)


def upgrade() -> None:
    _replace(_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM account_roles WHERE role = 'city_admin'")
    _replace(_OLD)
