"""panels: grand-jury panels and the members of their frozen pools

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# New tables only: nothing here alters an existing table (audit_entries keeps its triggers).
def upgrade() -> None:
    op.create_table(
        "panels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("quotas", sa.JSON(), nullable=False),
        sa.Column("exclusions", sa.JSON(), nullable=False),
        sa.Column("event_date", sa.String(length=100), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("reply_deadline", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("pool_sha256", sa.String(length=64), nullable=True),
        sa.Column("commitment", sa.String(length=64), nullable=True),
        sa.Column("prepared", sa.JSON(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("frozen_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("drawn_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panels")),
    )
    op.create_index(op.f("ix_panels_status"), "panels", ["status"], unique=False)

    op.create_table(
        "panel_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("panel_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("pseudonym", sa.String(length=16), nullable=False),
        sa.Column("ticket", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserve_position", sa.Integer(), nullable=True),
        sa.Column("reply_code", sa.String(length=8), nullable=True),
        sa.Column("replacement_for_id", sa.Integer(), nullable=True),
        sa.Column("invited_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replied_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["panel_id"], ["panels.id"], name=op.f("fk_panel_members_panel_id_panels"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["replacement_for_id"],
            ["panel_members.id"],
            name=op.f("fk_panel_members_replacement_for_id_panel_members"),
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_panel_members_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_members")),
        sa.UniqueConstraint("panel_id", "pseudonym", name="uq_panel_members_panel_pseudonym"),
        sa.UniqueConstraint("panel_id", "ticket", name="uq_panel_members_panel_ticket"),
    )
    op.create_index(op.f("ix_panel_members_panel_id"), "panel_members", ["panel_id"], unique=False)
    op.create_index(op.f("ix_panel_members_resident_id"), "panel_members", ["resident_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_members_resident_id"), table_name="panel_members")
    op.drop_index(op.f("ix_panel_members_panel_id"), table_name="panel_members")
    op.drop_table("panel_members")
    op.drop_index(op.f("ix_panels_status"), table_name="panels")
    op.drop_table("panels")
