"""evaluations: campaigns, subjects (officials and offices), service contacts, ratings

Revision ID: 0012
Revises: 0008
Create Date: 2026-11-26 07:34:54.721163
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0012"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# New tables only: nothing existing is altered, audit_entries is never touched.
def upgrade() -> None:
    op.create_table(
        "evaluation_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("opens_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closes_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("community_codes", sa.JSON(), nullable=False),
        sa.Column("questions", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.String(length=16), nullable=False),
        sa.Column("min_answers", sa.Integer(), nullable=False),
        sa.Column("bulk_limit", sa.Integer(), nullable=False),
        sa.Column("bulk_minutes", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.id"],
            name=op.f("fk_evaluation_campaigns_notice_id_notices"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_campaigns")),
    )
    op.create_table(
        "evaluation_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["evaluation_campaigns.id"],
            name=op.f("fk_evaluation_subjects_campaign_id_evaluation_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_subjects")),
    )
    with op.batch_alter_table("evaluation_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_subjects_campaign_id"), ["campaign_id"], unique=False)

    op.create_table(
        "service_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("served_on", sa.Date(), nullable=False),
        sa.Column("matter", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("invited_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["evaluation_campaigns.id"],
            name=op.f("fk_service_contacts_campaign_id_evaluation_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_service_contacts_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["evaluation_subjects.id"],
            name=op.f("fk_service_contacts_subject_id_evaluation_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_contacts")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_service_contacts_token_hash")),
    )
    with op.batch_alter_table("service_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_contacts_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_service_contacts_resident_id"), ["resident_id"], unique=False)

    op.create_table(
        "evaluation_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("comment_status", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("via", sa.String(length=8), nullable=False),
        sa.Column("source_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["evaluation_campaigns.id"],
            name=op.f("fk_evaluation_ratings_campaign_id_evaluation_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["service_contacts.id"],
            name=op.f("fk_evaluation_ratings_contact_id_service_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_evaluation_ratings_resident_id_residents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"],
            ["evaluation_subjects.id"],
            name=op.f("fk_evaluation_ratings_subject_id_evaluation_subjects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluation_ratings")),
        sa.UniqueConstraint("slot", name=op.f("uq_evaluation_ratings_slot")),
    )
    with op.batch_alter_table("evaluation_ratings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_ratings_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(
            "ix_evaluation_ratings_campaign_source", ["campaign_id", "source_hash"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evaluation_ratings_subject_id"), ["subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluation_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_ratings_subject_id"))
        batch_op.drop_index("ix_evaluation_ratings_campaign_source")
        batch_op.drop_index(batch_op.f("ix_evaluation_ratings_campaign_id"))

    op.drop_table("evaluation_ratings")
    with op.batch_alter_table("service_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_contacts_resident_id"))
        batch_op.drop_index(batch_op.f("ix_service_contacts_campaign_id"))

    op.drop_table("service_contacts")
    with op.batch_alter_table("evaluation_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluation_subjects_campaign_id"))

    op.drop_table("evaluation_subjects")
    op.drop_table("evaluation_campaigns")
