"""the database drives queued and timed work: notices.fanned_out_at, sms_messages.retry_at, leases

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0013"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("notices", sa.Column("fanned_out_at", engage.db.UTCDateTime(), nullable=True))
    op.add_column("sms_messages", sa.Column("retry_at", engage.db.UTCDateTime(), nullable=True))
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", engage.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    # Notices whose texts were already created count as fanned out; the sweeper must not text new
    # subscribers an old notice. A closed notice is over whatever happened.
    op.execute(
        "UPDATE notices SET fanned_out_at = COALESCE(published_at, updated_at) "
        "WHERE status = 'closed' OR EXISTS (SELECT 1 FROM sms_messages WHERE sms_messages.notice_id = notices.id)"
    )


def downgrade() -> None:
    op.drop_table("leases")
    with op.batch_alter_table("sms_messages") as batch:
        batch.drop_column("retry_at")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("fanned_out_at")
