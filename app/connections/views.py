from __future__ import annotations

import httpx
from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from app.connections.models import CheckOut, ConnectionIn, ConnectionOut, ConnectionTestOut
from app.connections.poller import connector_for
from app.connections.service import (
    Target,
    delete_connection,
    describe,
    list_status,
    load_target,
    put_connection,
)
from app.deps import ConnectionDep, ExistingWorkspaceDep, PutAnswerDep, RuntimeDep, WorkspaceDep
from app.exceptions import Conflict, NotFound
from connectors.http import EgressTransport

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["connections"])


@router.get("/connections", response_model=list[ConnectionOut])
def list_(
    ws: ExistingWorkspaceDep, connection: ConnectionDep, runtime: RuntimeDep
) -> list[ConnectionOut]:
    """Every connection of the workspace, secrets masked, with the pollers' health."""
    return list_status(connection, runtime.secrets, ws)


@router.put(
    "/systems/{system}/connection",
    response_model=ConnectionOut,
    responses={201: {"description": "Created"}, 200: {"description": "Replaced"}},
)
def put(
    ws: WorkspaceDep,
    system: str,
    body: ConnectionIn,
    connection: ConnectionDep,
    runtime: RuntimeDep,
    answer: PutAnswerDep,
) -> ConnectionOut:
    """Set how Arbiter reaches a system. Secrets are encrypted at rest and never read back."""
    created = put_connection(connection, runtime.secrets, ws, system, body)
    return answer((describe(load_target(connection, runtime.secrets, ws, system)), created))


@router.get("/systems/{system}/connection", response_model=ConnectionOut)
def get(
    ws: WorkspaceDep, system: str, connection: ConnectionDep, runtime: RuntimeDep
) -> ConnectionOut:
    return describe(load_target(connection, runtime.secrets, ws, system))


@router.delete("/systems/{system}/connection", status_code=status.HTTP_204_NO_CONTENT)
def delete(ws: ExistingWorkspaceDep, system: str, connection: ConnectionDep) -> Response:
    if not delete_connection(connection, ws, system):
        raise NotFound(f"system '{system}' has no connection")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/systems/{system}/connection/test", response_model=ConnectionTestOut)
async def test(ws: WorkspaceDep, system: str, runtime: RuntimeDep) -> ConnectionTestOut:
    """Try the credentials and endpoints now; say what worked and what did not."""

    def load() -> Target:
        with runtime.engine.connect() as connection:
            return load_target(connection, runtime.secrets, ws, system)

    target = await run_in_threadpool(load)
    if not target.polls or target.base_url is None:
        raise Conflict(f"system '{system}' is not polled (kind '{target.kind}'): nothing to test")
    async with httpx.AsyncClient(
        timeout=httpx.Timeout(15.0, connect=5.0),
        transport=EgressTransport(runtime.settings.egress),
    ) as client:
        checks = await connector_for(target, client).test()
    return ConnectionTestOut(
        ok=bool(checks) and all(c.ok for c in checks),
        checks=[CheckOut(name=c.name, ok=c.ok, detail=c.detail) for c in checks],
    )
