"""urgent notices and held texts: notices.urgent, notices.texts_held_until

Revision ID: 0009
Revises: 0012
Create Date: 2026-11-26 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0009"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD COLUMNs (one with a constant default) on both databases, no table copy on SQLite.
def upgrade() -> None:
    op.add_column("notices", sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("notices", sa.Column("texts_held_until", engage.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("texts_held_until")
        batch.drop_column("urgent")
