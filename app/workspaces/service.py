"""Workspaces: one monitored set of systems each; deleting one deletes all of its data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.db.driver import savepoint
from app.db.tables import workspaces
from app.exceptions import WorkspaceNotFound


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    created_at: datetime


def get_workspace(connection: Connection, workspace_id: str) -> Workspace | None:
    row = connection.execute(select(workspaces).where(workspaces.c.id == workspace_id)).first()
    return None if row is None else Workspace(row.id, row.name, row.created_at)


def list_workspaces(connection: Connection) -> list[Workspace]:
    rows = connection.execute(select(workspaces).order_by(workspaces.c.id))
    return [Workspace(r.id, r.name, r.created_at) for r in rows]


def put_workspace(
    connection: Connection, workspace_id: str, name: str | None
) -> tuple[Workspace, bool]:
    """Create the workspace or keep it (renaming it when a name is given); True when created."""
    existing = get_workspace(connection, workspace_id)
    if existing is not None:
        if name is not None and name != existing.name:
            connection.execute(
                update(workspaces).where(workspaces.c.id == workspace_id).values(name=name)
            )
            existing = Workspace(existing.id, name, existing.created_at)
        return existing, False
    created = Workspace(workspace_id, name or workspace_id, datetime.now(UTC))
    try:
        with savepoint(connection):
            connection.execute(
                insert(workspaces).values(
                    id=created.id, name=created.name, created_at=created.created_at
                )
            )
    except IntegrityError:
        # A concurrent PUT created it first: keeping it is the answer to both.
        found = get_workspace(connection, workspace_id)
        assert found is not None
        return found, False
    return created, True


def delete_workspace(connection: Connection, workspace_id: str) -> bool:
    return (
        connection.execute(delete(workspaces).where(workspaces.c.id == workspace_id)).rowcount > 0
    )


def require_workspace(connection: Connection, workspace_id: str) -> Workspace:
    """The workspace, or the 404 that every route under it answers when it does not exist."""
    found = get_workspace(connection, workspace_id)
    if found is None:
        raise WorkspaceNotFound(workspace_id)
    return found
