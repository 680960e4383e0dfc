from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Response, status

from app.deps import AdminDep, ConnectionDep, PrincipalDep, PutAnswerDep, RuntimeDep, WorkspaceDep
from app.exceptions import WorkspaceNotFound
from app.workspaces.models import WorkspaceIn, WorkspaceOut
from app.workspaces.service import (
    delete_workspace,
    list_workspaces,
    put_workspace,
    require_workspace,
)

router = APIRouter(prefix="/api/v1/workspaces", tags=["workspaces"])


@router.get("", response_model=list[WorkspaceOut])
def list_(connection: ConnectionDep, principal: PrincipalDep) -> list[WorkspaceOut]:
    found = list_workspaces(connection)
    return [WorkspaceOut(**vars(w)) for w in found if principal.may_access(w.id)]


@router.put(
    "/{ws}",
    response_model=WorkspaceOut,
    responses={
        200: {"description": "Kept (renamed when a name was given)"},
        201: {"description": "Created"},
    },
)
def put(
    ws: WorkspaceDep,
    connection: ConnectionDep,
    answer: PutAnswerDep,
    body: Annotated[WorkspaceIn | None, Body()] = None,
) -> WorkspaceOut:
    workspace, created = put_workspace(connection, ws, body.name if body else None)
    return answer((WorkspaceOut(**vars(workspace)), created))


@router.get("/{ws}", response_model=WorkspaceOut)
def get(ws: WorkspaceDep, connection: ConnectionDep) -> WorkspaceOut:
    return WorkspaceOut(**vars(require_workspace(connection, ws)))


@router.delete("/{ws}", status_code=status.HTTP_204_NO_CONTENT)
def delete(ws: WorkspaceDep, runtime: RuntimeDep, principal: AdminDep) -> Response:
    with runtime.engine.begin() as connection:
        deleted = delete_workspace(connection, ws)
    runtime.indexes.drop(ws)
    if not deleted:
        raise WorkspaceNotFound(ws)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
