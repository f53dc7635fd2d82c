"""declared conflicts of interest between residents and candidates: panel_declared_conflicts

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-26 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0010"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A new table only: nothing here alters an existing table.
def upgrade() -> None:
    op.create_table(
        "panel_declared_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("candidate", sa.String(length=200), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("declared_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_panel_declared_conflicts_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_declared_conflicts")),
    )
    op.create_index(
        op.f("ix_panel_declared_conflicts_resident_id"),
        "panel_declared_conflicts",
        ["resident_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_declared_conflicts_resident_id"), table_name="panel_declared_conflicts")
    op.drop_table("panel_declared_conflicts")
