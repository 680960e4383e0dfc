"""The migrations create exactly the tables the code declares, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import app.checks.tables
import app.connections.tables
import app.contracts.tables
import app.dashboard.tables
import app.incidents.tables
import app.maintenance.tables
import app.notifications.tables
import app.status.tables  # noqa: F401 - each module adds its tables to the metadata
from app.db.engine import make_engine, migrate
from app.db.tables import metadata


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # a second start is a no-op
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == []
