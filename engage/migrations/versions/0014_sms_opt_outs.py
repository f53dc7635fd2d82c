"""numbers that opted out of texts, residents or not: sms_opt_outs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 02:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import engage.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# A new table only; the residents who had already opted out are copied in, so their numbers stay stopped.
def upgrade() -> None:
    op.create_table(
        "sms_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("opted_out_at", engage.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_opt_outs")),
        sa.UniqueConstraint("phone", name=op.f("uq_sms_opt_outs_phone")),
    )
    op.execute(
        "INSERT INTO sms_opt_outs (phone, opted_out_at) SELECT phone, sms_opt_out_at FROM residents "
        "WHERE sms_opt_out_at IS NOT NULL AND phone IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("sms_opt_outs")
