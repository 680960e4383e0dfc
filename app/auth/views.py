from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.audit import service as audit
from app.auth.service import create_token, list_tokens, revoke_token
from app.deps import AdminDep, PrincipalDep, RuntimeDep, WorkspaceDep, WorkspacePath
from app.errors import NotFound
from app.workspaces.service import require_workspace

router = APIRouter(prefix="/api/v1/workspaces/{ws}/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")] = (
        "workspace token"
    )


class TokenOut(BaseModel):
    id: str
    workspace: str
    name: str
    created_at: datetime


class NewTokenOut(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only its hash is kept.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NewTokenOut,
    responses={403: {"description": "Only the admin token creates tokens"}},
)
def create(
    ws: WorkspacePath,
    _admin: AdminDep,
    runtime: RuntimeDep,
    body: Annotated[TokenIn | None, Body()] = None,
) -> NewTokenOut:
    """A new token of the workspace. Only the admin creates them: a workspace token that could
    mint others would outlive its own revocation through them."""
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        info, secret = create_token(connection, ws, (body or TokenIn()).name)
        audit.record(
            connection, ws, _admin.name, "token_created", info.id, info.created_at, name=info.name
        )
    return NewTokenOut(
        id=info.id, workspace=ws, name=info.name, created_at=info.created_at, token=secret
    )


@router.get("", response_model=list[TokenOut])
def list_(ws: WorkspaceDep, runtime: RuntimeDep) -> list[TokenOut]:
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        found = list_tokens(connection, ws)
    return [TokenOut(id=t.id, workspace=ws, name=t.name, created_at=t.created_at) for t in found]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(
    ws: WorkspaceDep, token_id: str, runtime: RuntimeDep, principal: PrincipalDep
) -> Response:
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        if not revoke_token(connection, ws, token_id):
            raise NotFound(f"token '{token_id}' does not exist in workspace '{ws}'")
        audit.record(connection, ws, principal.name, "token_revoked", token_id, datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
