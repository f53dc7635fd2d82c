"""organizer second factor: organizers.totp_secret and totp_last_step

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 04:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# New nullable columns: organizers start without a second factor and enrol from the console.
def upgrade() -> None:
    with op.batch_alter_table("organizers") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organizers") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_secret")
