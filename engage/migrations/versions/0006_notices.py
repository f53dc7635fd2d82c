"""notices: public notices, and the notice, resident and delivery report of each text

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A new table, and new columns on sms_messages. The batch on sms_messages copies that table on SQLite
# (it cannot add a constraint otherwise); audit_entries is never touched, so its triggers stay.
def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("community_codes", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("publish_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index(op.f("ix_notices_status"), "notices", ["status"], unique=False)

    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("delivery_status", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("delivered_at", engage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_sms_messages_notice_id_notices"),
            "notices",
            ["notice_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_sms_messages_resident_id_residents"),
            "residents",
            ["resident_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_unique_constraint(
            "uq_sms_messages_notice_id_resident_id", ["notice_id", "resident_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("sms_messages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sms_messages_notice_id_resident_id", type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_sms_messages_resident_id_residents"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_sms_messages_notice_id_notices"), type_="foreignkey")
        batch_op.drop_column("delivered_at")
        batch_op.drop_column("delivery_status")
        batch_op.drop_column("resident_id")
        batch_op.drop_column("notice_id")
    op.drop_index(op.f("ix_notices_status"), table_name="notices")
    op.drop_table("notices")
