"""The schema: workspaces, their topology and tokens, and the append-only event log.

Alembic migrations under ``migrations/`` create exactly these tables; the test suite checks
that the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Constraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps it as naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def workspace_column(**options: Any) -> Column[str]:
    """The ``workspace_id`` column: every row belongs to a workspace and goes with it."""
    return Column(
        "workspace_id", String(63), ForeignKey("workspaces.id", ondelete="CASCADE"), **options
    )


SchemaItemT = TypeVar("SchemaItemT", Constraint, Index)


def only_on(dialect: str, item: SchemaItemT) -> SchemaItemT:
    """``item`` exists on ``dialect``'s stores only (the migrations make it there alone).

    The event tables differ by backend: on PostgreSQL they are partitioned by time
    (:mod:`app.db.partitions`), and a partitioned table holds no unique constraint without
    its partition key, so idempotency keys live in tables of their own there.
    """
    item.info["only_on"] = dialect
    item.ddl_if(dialect=dialect)
    return item


def exists_on(item: Any, dialect: str) -> bool:
    """Whether a table, constraint or index of the metadata exists on ``dialect``'s stores."""
    only: str = item.info.get("only_on", dialect)
    return only == dialect


# SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid).
Seq = BigInteger().with_variant(Integer(), "sqlite")

# The column shapes the tables share; a column is required unless it says otherwise.


def serial(name: str = "id") -> Column[int]:
    """The table's own sequence number, counted by the database: its primary key."""
    return Column(name, Seq, primary_key=True, autoincrement=True)


def string(name: str, length: int, *, nullable: bool = False, **options: Any) -> Column[str]:
    return Column(name, String(length), nullable=nullable, **options)


def text(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, Text(), nullable=nullable)


def integer(name: str, *, nullable: bool = False) -> Column[int]:
    return Column(name, Integer(), nullable=nullable)


def moment(name: str, *, nullable: bool = False) -> Column[datetime]:
    """An aware UTC moment."""
    return Column(name, UTCDateTime(), nullable=nullable)


workspaces = Table(
    "workspaces",
    metadata,
    string("id", 63, primary_key=True),
    string("name", 200),
    moment("created_at"),
)


def document_table(name: str, *keys: Column[str]) -> Table:
    """A table of one JSON document (``body``) per workspace (and ``keys``, when it holds
    several), and when it was last put."""
    return Table(
        name,
        metadata,
        workspace_column(primary_key=True),
        *keys,
        text("body"),
        moment("updated_at"),
    )


def idempotency_keys(name: str, *keys: Column[str], at: str) -> Table:
    """PostgreSQL only: the key of every row of a partitioned table held, whatever its partition
    (the partitioned table holds no unique constraint without its partition key, ``at``)."""
    return Table(
        name,
        metadata,
        workspace_column(primary_key=True),
        *keys,
        moment(at),
        Index(f"ix_{name}_{at}", at),
        info={"only_on": "postgresql"},
    )


topologies = document_table("topologies")

tokens = Table(
    "tokens",
    metadata,
    string("id", 40, primary_key=True),
    workspace_column(nullable=False, index=True),
    string("name", 200),
    string("secret_hash", 64, unique=True),
    moment("created_at"),
)

events = Table(
    "events",
    metadata,
    serial("seq"),
    workspace_column(nullable=False),
    string("event_id", 200),
    moment("time"),
    string("flow", 64),
    string("kind", 8),
    string("system", 64),
    string("target", 64, nullable=True),
    text("body"),
    moment("received_at"),
    only_on(
        "sqlite", UniqueConstraint("workspace_id", "event_id", name="uq_events_workspace_event")
    ),
    Index("ix_events_workspace_time", "workspace_id", "time", "seq"),
    Index("ix_events_workspace_flow_time", "workspace_id", "flow", "time"),
)

event_refs = Table(
    "event_refs",
    metadata,
    Column("seq", Seq, primary_key=True),
    string("namespace", 100, primary_key=True),
    string("workspace_id", 63),
    string("value", 200),
    # The event's time: the partition key on PostgreSQL, so refs expire with their events.
    moment("time"),
    Index("ix_event_refs_lookup", "workspace_id", "namespace", "value", "seq"),
    only_on("sqlite", ForeignKeyConstraint(["seq"], ["events.seq"], ondelete="CASCADE")),
    only_on(
        "postgresql",
        ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    ),
)

event_ids = idempotency_keys("event_ids", string("event_id", 200, primary_key=True), at="time")
"""PostgreSQL only: the idempotency key of every event held, whatever its partition."""
