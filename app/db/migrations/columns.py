"""The column shapes the migrations share, so that each migration reads as its tables.

A migration imports them as a namespace beside ``sa`` and ``op``:
``from app.db.migrations import columns as col``, then ``col.string("name", 200)``.

A migration must do tomorrow exactly what it did when it was written: never change what a
helper here returns (tests/app/db/test_migrations.py compares the migrated schema with the
tables); add another helper instead.

>>> column = string("name", 200, nullable=True)
>>> (column.name, column.type.length, column.nullable)
('name', 200, True)
>>> workspace_fk().elements[0].target_fullname, workspace_fk().ondelete
('workspaces.id', 'CASCADE')
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
"""A sequence number: 64 bits on PostgreSQL, the rowid's integer on SQLite."""


def serial(name: str = "id") -> sa.Column[int]:
    """The table's own sequence number, counted by the database."""
    return sa.Column(name, SEQ, autoincrement=True, nullable=False)


def string(name: str, length: int, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def integer(name: str, *, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    """A moment, with its time zone."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def workspace_id(*, nullable: bool = False) -> sa.Column[str]:
    return string("workspace_id", 63, nullable=nullable)


def cascade(column: str, target: str) -> sa.ForeignKeyConstraint:
    """`column` refers to `target` ("table.column"); the row goes when the target row goes."""
    return sa.ForeignKeyConstraint([column], [target], ondelete="CASCADE")


def workspace_fk() -> sa.ForeignKeyConstraint:
    return cascade("workspace_id", "workspaces.id")


def index(table: str, name: str, *columns: str) -> None:
    """Create the index ``name`` on ``table``'s ``columns`` (not unique).

    The same DDL as ``op.create_index`` and as ``batch_alter_table``'s (SQLite never copies a
    table to add an index).
    """
    op.create_index(name, table, list(columns), unique=False)


def document_table(name: str) -> None:
    """Create ``name``: one JSON document (``body``) per workspace, and when it was last put."""
    op.create_table(
        name,
        workspace_id(),
        text("body"),
        when("updated_at"),
        workspace_fk(),
        sa.PrimaryKeyConstraint("workspace_id"),
    )
