from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from app.accounts.service import Role, members
from app.audit import service as audit
from app.auth.service import ROLE_RANK, TokenInfo, create_token, list_tokens, revoke_token
from app.deps import AdminDep, ConnectionDep, ExistingWorkspaceDep, PrincipalDep
from app.exceptions import Invalid, NotFound
from app.fields import Name
from app.mapping import mapped

router = APIRouter(prefix="/api/v1/workspaces/{ws}/tokens", tags=["tokens"])


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = "workspace token"
    role: Role = Field(
        default="operator",
        description="viewer (read), operator (acknowledge, notes, changes) or owner; "
        "operator is what tokens always had.",
    )
    person: str | None = Field(
        default=None,
        max_length=320,
        description="The e-mail of the workspace member the token belongs to: it stops working "
        "when they leave, and never has more than their own role.",
    )
    integration: Name | None = Field(
        default=None, description="Or the named integration it belongs to."
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When it stops working; default: never."
    )


class TokenOut(BaseModel):
    id: str
    workspace: str
    name: str
    created_at: datetime
    role: str = "operator"
    person: str | None = None
    integration: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="Last authenticated use, to the minute; null: never used."
    )


def _out(info: TokenInfo) -> TokenOut:
    return mapped(TokenOut, info, workspace=info.workspace_id)


def _checked(connection: Connection, ws: str, body: TokenIn) -> str | None:
    """The owner's normalised e-mail; 422 naming the field when the body does not hold."""
    if body.person is not None and body.integration is not None:
        raise Invalid.one(["body", "integration"], "a token belongs to a person or an integration")
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise Invalid.one(["body", "expires_at"], "expected a moment in the future")
    if body.person is None:
        return None
    email = body.person.strip().lower()
    role = next((m.role for m in members(connection, ws) if m.email == email), None)
    if role is None:
        raise Invalid.one(["body", "person"], f"'{email}' is not a member of workspace '{ws}'")
    if ROLE_RANK[body.role] > ROLE_RANK[role]:
        raise Invalid.one(["body", "role"], f"'{email}' is {role} here: the token cannot be more")
    return email


class NewTokenOut(TokenOut):
    token: str = Field(description="The bearer token. Shown this once; only its hash is kept.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NewTokenOut,
    responses={403: {"description": "Only the admin token creates tokens"}},
)
def create(
    _admin: AdminDep,
    ws: ExistingWorkspaceDep,
    connection: ConnectionDep,
    body: Annotated[TokenIn | None, Body()] = None,
) -> NewTokenOut:
    """A new token of the workspace. Only the admin creates them: a workspace token that could
    mint others would outlive its own revocation through them."""
    given = body or TokenIn()
    info, secret = create_token(
        connection,
        ws,
        given.name,
        role=given.role,
        person=_checked(connection, ws, given),
        integration=given.integration,
        expires_at=given.expires_at,
    )
    audit.record(
        connection,
        ws,
        _admin.name,
        "token_created",
        info.id,
        info.created_at,
        name=info.name,
        role=info.role,
        person=info.person,
        integration=info.integration,
    )
    return NewTokenOut(**_out(info).model_dump(), token=secret)


@router.get("", response_model=list[TokenOut])
def list_(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> list[TokenOut]:
    found = list_tokens(connection, ws)
    return [_out(t) for t in found]


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(
    ws: ExistingWorkspaceDep, token_id: str, connection: ConnectionDep, principal: PrincipalDep
) -> Response:
    if not revoke_token(connection, ws, token_id):
        raise NotFound(f"token '{token_id}' does not exist in workspace '{ws}'")
    audit.record(connection, ws, principal.name, "token_revoked", token_id, datetime.now(UTC))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
