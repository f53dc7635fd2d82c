"""organizer offboarding: organizers.session_version, api_tokens.expires_at and scope

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# New columns only. Tokens made before have no expiry of their own: they expire 90 days after they were
# made (engage.accounts.services) and keep the full power they had ("write").
def upgrade() -> None:
    with op.batch_alter_table("organizers") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", engage.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("scope", sa.String(length=8), nullable=False, server_default="write"))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("scope")
        batch.drop_column("expires_at")
    with op.batch_alter_table("organizers") as batch:
        batch.drop_column("session_version")
