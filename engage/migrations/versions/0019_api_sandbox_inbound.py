"""API as a product: sandbox tokens (api_tokens.sandbox, notices.sandbox) and inbound texts kept for
organizers to read (inbound_messages.sender, body, resident_id)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# New columns only: existing tokens and notices are real ones; texts received before have no sender or
# body (they were never kept).
def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("sandbox", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("sender", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("resident_id", sa.Integer(), nullable=True))
        batch.create_index("ix_inbound_messages_sender", ["sender"])
        batch.create_foreign_key(
            "fk_inbound_messages_resident_id_residents",
            "residents",
            ["resident_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_constraint("fk_inbound_messages_resident_id_residents", type_="foreignkey")
        batch.drop_index("ix_inbound_messages_sender")
        batch.drop_column("resident_id")
        batch.drop_column("body")
        batch.drop_column("sender")
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("sandbox")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("sandbox")
