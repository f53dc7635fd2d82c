"""inbound messages: MessageSids of handled texts, so a redelivered webhook acts once

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=False),
        sa.Column("handler", sa.String(length=32), nullable=False),
        sa.Column("received_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("message_sid", name=op.f("uq_inbound_messages_message_sid")),
    )


def downgrade() -> None:
    op.drop_table("inbound_messages")
