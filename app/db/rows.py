"""A workspace's row by its key: found, or refused as missing.

The workspace is part of every lookup, so that one workspace never reaches another's rows;
``missing`` is what the refusal says.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Row, delete, select

from app.exceptions import NotFound


def _of_workspace(key: Column[Any], workspace_id: str, value: object) -> ColumnElement[bool]:
    return (key.table.c.workspace_id == workspace_id) & (key == value)


def workspace_row(
    connection: Connection, key: Column[Any], workspace_id: str, value: object, missing: str
) -> Row[Any]:
    """The row of ``key``'s table whose ``key`` is ``value`` in the workspace."""
    where = _of_workspace(key, workspace_id, value)
    row = connection.execute(select(key.table).where(where)).one_or_none()
    if row is None:
        raise NotFound(missing)
    return row


def deleted(connection: Connection, key: Column[Any], workspace_id: str, value: object) -> bool:
    """Delete the row of ``key``'s table whose ``key`` is ``value`` in the workspace; whether
    there was one."""
    gone = connection.execute(delete(key.table).where(_of_workspace(key, workspace_id, value)))
    return gone.rowcount > 0


def delete_workspace_row(
    connection: Connection, key: Column[Any], workspace_id: str, value: object, missing: str
) -> None:
    """Delete that row, or refuse as missing."""
    if not deleted(connection, key, workspace_id, value):
        raise NotFound(missing)
