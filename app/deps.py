"""The dependencies routes declare, one ``Annotated`` alias each."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy import Connection

from app.audit.middleware import PRINCIPAL_KEY
from app.auth import throttle
from app.auth.service import Principal, authenticate
from app.exceptions import Forbidden, Unauthenticated
from app.runtime import Runtime
from app.workspaces.service import require_workspace

T = TypeVar("T")

WORKSPACE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"


async def _runtime(request: Request) -> Runtime:
    # async: a plain def dependency is run in a worker thread, a hand-off per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]

READS = frozenset({"GET", "HEAD", "OPTIONS"})


def _connection(request: Request, runtime: RuntimeDep) -> Iterator[Connection]:
    if request.method in READS:
        with runtime.engine.connect() as connection:
            yield connection
    else:
        with runtime.engine.begin() as connection:
            yield connection


# scope="function": the transaction ends when the route returns, before the answer is sent.
ConnectionDep = Annotated[Connection, Depends(_connection, scope="function")]
"""The request's one connection to the store. A change (POST, PUT, DELETE...) runs in one
transaction: committed before the answer is sent (nothing is acknowledged before it is
durable), rolled back when the route raises. A read gets a plain connection."""

_bearer = HTTPBearer(auto_error=False, description="The admin token or a workspace token.")


def authenticated(
    request: Request, runtime: Runtime, credentials: HTTPAuthorizationCredentials | None
) -> Principal:
    """Whose bearer token this is; 401 without one that holds, each failure counted against
    the caller's address (:mod:`app.auth.throttle`)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    throttle.check(request)
    with runtime.engine.begin() as connection:  # begin: the token's last use is noted
        principal = authenticate(connection, credentials.credentials, runtime.admin_token)
    if principal is None:
        throttle.failed(request)
        raise Unauthenticated()
    return principal


def _principal(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    principal = authenticated(request, runtime, credentials)
    # The audit trail's middleware names the caller of each change from here.
    setattr(request.state, PRINCIPAL_KEY, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]


def admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin:
        raise Forbidden("this needs the admin token")
    return principal


AdminDep = Annotated[Principal, Depends(admin)]

WorkspacePath = Annotated[
    str,
    Path(
        pattern=WORKSPACE_PATTERN,
        description="Workspace id: lowercase letters, digits and dashes, 1 to 63 characters.",
        examples=["acme-shop"],
    ),
]


def _workspace(request: Request, ws: WorkspacePath, principal: PrincipalDep) -> str:
    if not principal.may_access(ws):
        raise Forbidden("this token belongs to another workspace")
    # One rule for every route of a workspace: a viewer's token reads and changes nothing.
    if request.method not in READS and not principal.may(ws, "operator"):
        raise Forbidden("this token has the viewer role: it only reads")
    return ws


WorkspaceDep = Annotated[str, Depends(_workspace)]
"""A workspace id the caller may act on (its existence is the service's to check)."""


def _existing_workspace(ws: WorkspaceDep, connection: ConnectionDep) -> str:
    require_workspace(connection, ws)
    return ws


ExistingWorkspaceDep = Annotated[str, Depends(_existing_workspace)]
"""As :data:`WorkspaceDep`, for a workspace that exists (404 otherwise), read on the request's
:data:`ConnectionDep`."""


class PutAnswer:
    """What a PUT that creates or replaces a resource answers: the resource, with 201 when it
    was created, 200 when it replaced one (``answer(service.put_x(...))``)."""

    def __init__(self, response: Response) -> None:
        self._response = response

    def __call__(self, stored: tuple[T, bool]) -> T:
        resource, created = stored
        self._response.status_code = 201 if created else 200
        return resource

    @staticmethod
    def responses(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
        """The route's OpenAPI answers beside its 200: 201 with ``model`` when created."""
        return {201: {"model": model, "description": "Created"}}


PutAnswerDep = Annotated[PutAnswer, Depends()]
