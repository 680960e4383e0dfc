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

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(63), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

topologies = Table(
    "topologies",
    metadata,
    workspace_column(primary_key=True),
    Column("body", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    workspace_column(nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    workspace_column(nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("time", UTCDateTime(), nullable=False),
    Column("flow", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("system", String(64), nullable=False),
    Column("target", String(64), nullable=True),
    Column("body", Text(), nullable=False),
    Column("received_at", UTCDateTime(), nullable=False),
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
    Column("namespace", String(100), primary_key=True),
    Column("workspace_id", String(63), nullable=False),
    Column("value", String(200), nullable=False),
    # The event's time: the partition key on PostgreSQL, so refs expire with their events.
    Column("time", UTCDateTime(), nullable=False),
    Index("ix_event_refs_lookup", "workspace_id", "namespace", "value", "seq"),
    only_on("sqlite", ForeignKeyConstraint(["seq"], ["events.seq"], ondelete="CASCADE")),
    only_on(
        "postgresql",
        ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
    ),
)

event_ids = Table(
    "event_ids",
    metadata,
    workspace_column(primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("time", UTCDateTime(), nullable=False),
    Index("ix_event_ids_time", "time"),
    info={"only_on": "postgresql"},
)
"""PostgreSQL only: the idempotency key of every event held, whatever its partition."""
