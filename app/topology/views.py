from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.deps import RuntimeDep, WorkspaceDep
from app.errors import NotFound
from app.topology.service import get_topology, put_topology
from app.workspaces.service import require_workspace
from graph.model import Topology

router = APIRouter(prefix="/api/v1/workspaces/{ws}/topology", tags=["topology"])


@router.put(
    "", response_model=Topology, response_model_by_alias=True, response_model_exclude_none=True
)
def put(ws: WorkspaceDep, topology: Topology, runtime: RuntimeDep) -> dict[str, Any]:
    """Replace the topology. Each flow must be a DAG over the declared systems (else 422)."""
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        put_topology(connection, ws, topology)
    return topology.to_json()


@router.get(
    "", response_model=Topology, response_model_by_alias=True, response_model_exclude_none=True
)
def get(ws: WorkspaceDep, runtime: RuntimeDep) -> dict[str, Any]:
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        topology = get_topology(connection, ws)
    if topology is None:
        raise NotFound(f"workspace '{ws}' has no topology yet: PUT one first")
    return topology.to_json()
