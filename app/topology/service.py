"""The topology of a workspace, stored whole and replaced whole."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select

from app.db.tables import topologies
from graph.model import Topology


def get_topology(connection: Connection, workspace_id: str) -> Topology | None:
    body = connection.execute(
        select(topologies.c.body).where(topologies.c.workspace_id == workspace_id)
    ).scalar_one_or_none()
    return None if body is None else Topology.model_validate_json(body)


def put_topology(connection: Connection, workspace_id: str, topology: Topology) -> None:
    connection.execute(delete(topologies).where(topologies.c.workspace_id == workspace_id))
    connection.execute(
        insert(topologies).values(
            workspace_id=workspace_id,
            body=json.dumps(topology.to_json()),
            updated_at=datetime.now(UTC),
        )
    )
