"""The migrations create exactly the tables the code declares, on both backends, and undo."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

import app.checks.tables
import app.connections.tables
import app.contracts.tables
import app.dashboard.tables
import app.diagnosis.tables
import app.incidents.tables
import app.maintenance.tables
import app.notifications.tables
import app.status.tables  # noqa: F401 - each module adds its tables to the metadata
from app.db.engine import MIGRATIONS, make_engine, migrate
from app.db.partitions import is_partition
from app.db.tables import exists_on, metadata
from tests.conftest import fresh_postgres_database


def _differences(connection: Connection) -> list[object]:
    """What differs between the store's schema and the tables the code declares."""
    dialect = connection.dialect.name
    options = {
        "compare_type": True,
        # PostgreSQL's time partitions are the partitioned tables' storage, not tables
        # of the schema; and some tables and constraints exist on one backend only.
        "include_name": lambda name, kind, _parents: kind != "table" or not is_partition(name),
        "include_object": lambda item, _name, _kind, reflected, _other: (
            reflected or exists_on(item, dialect)
        ),
    }
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, metadata))


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        migrate(engine)  # a second start is a no-op
        with engine.connect() as connection:
            assert _differences(connection) == []
    finally:
        engine.dispose()


def _alembic(connection: Connection, step: str, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    getattr(command, step)(config, target)


def _schema(connection: Connection) -> dict[str, object]:
    """Every table's columns, keys and indexes, as reflected (partitions left out)."""
    inspector = inspect(connection)
    tables = [name for name in inspector.get_table_names() if not is_partition(name)]

    def described(table: str) -> object:
        return (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            inspector.get_pk_constraint(table)["constrained_columns"],
            sorted(
                (fk["constrained_columns"], fk["referred_table"], fk["options"].get("ondelete"))
                for fk in inspector.get_foreign_keys(table)
            ),
            sorted(
                (u["name"] or "", u["column_names"])
                for u in inspector.get_unique_constraints(table)
            ),
            sorted((i["name"] or "", i["column_names"]) for i in inspector.get_indexes(table)),
        )

    return {table: described(table) for table in sorted(tables)}


@contextlib.contextmanager
def _another_store(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'other.db'}"
    else:
        with fresh_postgres_database(database_url.rsplit("/", 1)[0]) as url:
            yield url


_ROWS = {
    "events": "SELECT seq, event_id, time, body FROM events ORDER BY seq",
    "event_refs": "SELECT seq, namespace, value FROM event_refs ORDER BY seq, namespace",
    "webhook_deliveries": "SELECT seq, delivery_id, body FROM webhook_deliveries ORDER BY seq",
}


def _store_some(connection: Connection) -> dict[str, list[object]]:
    postgres = connection.dialect.name == "postgresql"
    run = connection.exec_driver_sql
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    run(
        "INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'W', %(t)s)"
        if postgres
        else "INSERT INTO workspaces (id, name, created_at) VALUES ('w', 'W', :t)",
        {"t": now},
    )
    for seq, event_id in ((1, "a"), (2, "b")):
        values = {"seq": seq, "id": event_id, "t": now, "body": f'{{"id": "{event_id}"}}'}
        statements = [
            "INSERT INTO events (seq, workspace_id, event_id, time, flow, kind, system, body,"
            " received_at) VALUES (:seq, 'w', :id, :t, 'order', 'seen', 'shop', :body, :t)",
            "INSERT INTO event_refs (seq, namespace, workspace_id, value, time)"
            " VALUES (:seq, 'order', 'w', :id, :t)",
        ]
        if postgres:
            statements.append(
                "INSERT INTO event_ids (workspace_id, event_id, time) VALUES ('w', :id, :t)"
            )
        for statement in statements:
            connection.execute(text(statement), values)
    connection.execute(
        text(
            "INSERT INTO webhook_deliveries (seq, workspace_id, system_id, delivery_id, headers,"
            " body, received_at) VALUES (1, 'w', 'shop', 'd1', '{}', :body, :t)"
        ),
        {"body": b"{}", "t": now},
    )
    if postgres:
        run("INSERT INTO webhook_delivery_ids VALUES ('w', 'shop', 'd1', %(t)s)", {"t": now})
    return {table: list(connection.execute(text(query))) for table, query in _ROWS.items()}


def test_the_event_partitions_come_undone_with_every_row_and_come_back(
    database_url: str, tmp_path: Path
) -> None:
    """Downgrading past the time partitions gives the earlier schema with every row kept; upgrading
    again gives today's schema, rows still there; and every migration undoes to an empty store."""
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            rows = _store_some(connection)
            _alembic(connection, "downgrade", "worker_leases")
            before = _schema(connection)
            assert {t: list(connection.execute(text(q))) for t, q in _ROWS.items()} == rows
            heads = list(connection.exec_driver_sql("SELECT version_num FROM alembic_version"))
        assert "worker_leases" in {head for (head,) in heads}
        # The same revisions reached by upgrading only: the schema 0024 found.
        with _another_store(database_url, tmp_path) as other_url:
            other = make_engine(other_url)
            try:
                with other.begin() as connection:
                    for (head,) in heads:
                        _alembic(connection, "upgrade", head)
                    expected = _schema(connection)
            finally:
                other.dispose()
        assert before == expected
        migrate(engine)
        with engine.begin() as connection:
            assert {t: list(connection.execute(text(q))) for t, q in _ROWS.items()} == rows
            if connection.dialect.name == "postgresql":
                keys = connection.exec_driver_sql("SELECT count(*) FROM event_ids").scalar()
                assert keys == 2
            assert _differences(connection) == []
        with engine.begin() as connection:
            _alembic(connection, "downgrade", "base")
            assert inspect(connection).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()
