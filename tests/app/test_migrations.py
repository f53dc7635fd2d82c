from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engage.db import make_sync_engine
from engage.migrate import downgrade, upgrade
from engage.models import Base


def test_migrations_build_exactly_the_schema_the_models_describe(each_database_url: str) -> None:
    engine = make_sync_engine(each_database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


def test_migrations_go_down_to_nothing_and_up_again(each_database_url: str) -> None:
    downgrade(each_database_url, "base")
    engine = make_sync_engine(each_database_url)
    with engine.connect() as connection:
        tables = set(connection.dialect.get_table_names(connection))
    assert tables <= {"alembic_version"}
    upgrade(each_database_url)
    with engine.connect() as connection:
        tables = set(connection.dialect.get_table_names(connection))
    assert {"organizers", "audit_entries", "residents", "sms_messages"} <= tables
    engine.dispose()
