"""audit subject index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 05:44:18.118429
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain index operations, not batch mode: on SQLite a batch could copy the table and drop the
# append-only triggers with it.
def upgrade() -> None:
    op.create_index("ix_audit_entries_subject", "audit_entries", ["subject_type", "subject_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_entries_subject", table_name="audit_entries")
