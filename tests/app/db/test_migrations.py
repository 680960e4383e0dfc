"""The migrations create exactly the tables the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import app.checks.tables
import app.connections.tables
import app.contracts.tables
import app.dashboard.tables
import app.diagnosis.tables
import app.incidents.tables
import app.maintenance.tables
import app.notifications.tables
import app.status.tables  # noqa: F401 - each module adds its tables to the metadata
from app.db.engine import make_engine, migrate
from app.db.partitions import is_partition
from app.db.tables import exists_on, metadata


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # a second start is a no-op
        with engine.connect() as connection:
            dialect = connection.dialect.name
            options = {
                "compare_type": True,
                # PostgreSQL's time partitions are the partitioned tables' storage, not tables
                # of the schema; and some tables and constraints exist on one backend only.
                "include_name": lambda name, kind, _parents: (
                    kind != "table" or not is_partition(name)
                ),
                "include_object": lambda item, _name, _kind, reflected, _other: (
                    reflected or exists_on(item, dialect)
                ),
            }
            context = MigrationContext.configure(connection, opts=options)
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
