"""panel reminders and the cap on repeat service: panel_members.reminded_at, panels.max_prior_service

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Two nullable columns: a plain ADD COLUMN on both databases, no table copy on SQLite.
def upgrade() -> None:
    op.add_column("panel_members", sa.Column("reminded_at", engage.db.UTCDateTime(), nullable=True))
    op.add_column("panels", sa.Column("max_prior_service", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("panels") as batch:
        batch.drop_column("max_prior_service")
    with op.batch_alter_table("panel_members") as batch:
        batch.drop_column("reminded_at")
