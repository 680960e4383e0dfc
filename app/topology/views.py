from __future__ import annotations

from fastapi import APIRouter

from app.deps import ConnectionDep, ExistingWorkspaceDep
from app.exceptions import NotFound
from app.topology.service import get_topology, put_topology
from graph.model import Topology

router = APIRouter(prefix="/api/v1/workspaces/{ws}/topology", tags=["topology"])


@router.put(
    "", response_model=Topology, response_model_by_alias=True, response_model_exclude_none=True
)
def put(ws: ExistingWorkspaceDep, topology: Topology, connection: ConnectionDep) -> Topology:
    """Replace the topology. Each flow must be a DAG over the declared systems (else 422)."""
    put_topology(connection, ws, topology)
    return topology


@router.get(
    "", response_model=Topology, response_model_by_alias=True, response_model_exclude_none=True
)
def get(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> Topology:
    topology = get_topology(connection, ws)
    if topology is None:
        raise NotFound(f"workspace '{ws}' has no topology yet: PUT one first")
    return topology
