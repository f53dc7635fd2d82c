"""notice periods and objections: notice_periods, notice_objections

Revision ID: 0008
Revises: 0011
Create Date: 2026-11-26 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0008"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Two new tables; no existing table changes.
def upgrade() -> None:
    op.create_table(
        "notice_periods",
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("extended_days", sa.Integer(), nullable=False),
        sa.Column("opens_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closes_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("suspended_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_periods_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_notice_periods")),
    )
    op.create_table(
        "notice_objections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("action_days", sa.Integer(), nullable=True),
        sa.Column("filed_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_notice_objections_notice_id_notices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_objections")),
        sa.UniqueConstraint("reference", name=op.f("uq_notice_objections_reference")),
    )
    op.create_index(op.f("ix_notice_objections_notice_id"), "notice_objections", ["notice_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_notice_objections_notice_id"), table_name="notice_objections")
    op.drop_table("notice_objections")
    op.drop_table("notice_periods")
