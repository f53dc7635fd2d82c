"""resident sign-up

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:18:09.101974
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "verification_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", engage.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verification_codes")),
    )
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.create_index("ix_verification_codes_phone_created", ["phone", "created_at"], unique=False)

    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resident_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["resident_id"],
            ["residents.id"],
            name=op.f("fk_subscriptions_resident_id_residents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("resident_id", "kind", "value", name=op.f("uq_subscriptions_resident_id")),
    )
    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subscriptions_resident_id"), ["resident_id"], unique=False)

    # Existing rows (a laptop's demo district) get values first; the columns become NOT NULL after.
    with op.batch_alter_table("resident_roles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_version", sa.String(length=16), nullable=True))
    op.execute("UPDATE resident_roles SET consent_version = '2026-11'")
    with op.batch_alter_table("resident_roles", schema=None) as batch_op:
        batch_op.alter_column("consent_version", existing_type=sa.String(length=16), nullable=False)

    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pseudonym", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("sms_opt_out_at", engage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("invited_at", engage.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("updated_at", engage.db.UTCDateTime(timezone=True), nullable=True))
    _backfill_residents()
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.alter_column("pseudonym", existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column("source", existing_type=sa.String(length=8), nullable=False)
        batch_op.alter_column(
            "updated_at", existing_type=engage.db.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_unique_constraint(batch_op.f("uq_residents_pseudonym"), ["pseudonym"])


def _backfill_residents() -> None:
    bind = op.get_bind()
    residents = sa.table(
        "residents",
        sa.column("id", sa.Integer),
        sa.column("pseudonym", sa.String),
        sa.column("source", sa.String),
        sa.column("created_at", engage.db.UTCDateTime(timezone=True)),
        sa.column("updated_at", engage.db.UTCDateTime(timezone=True)),
    )
    ids = [row.id for row in bind.execute(sa.select(residents.c.id))]
    for resident_id in ids:
        bind.execute(
            residents.update()
            .where(residents.c.id == resident_id)
            .values(pseudonym="r-" + secrets.token_hex(6), source="demo", updated_at=residents.c.created_at)
        )


def downgrade() -> None:
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_residents_pseudonym"), type_="unique")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("invited_at")
        batch_op.drop_column("source")
        batch_op.drop_column("sms_opt_out_at")
        batch_op.drop_column("pseudonym")

    with op.batch_alter_table("resident_roles", schema=None) as batch_op:
        batch_op.drop_column("consent_version")

    with op.batch_alter_table("subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriptions_resident_id"))

    op.drop_table("subscriptions")
    with op.batch_alter_table("verification_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_verification_codes_phone_created")

    op.drop_table("verification_codes")
