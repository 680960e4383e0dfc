"""Storefront and hosting checks as resources a script can PUT, list, run and delete."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.background import in_thread
from app.checks import service
from app.checks.models import Check, CheckId, CheckIn
from app.checks.runner import check_client, forget, run_check
from app.deps import (
    ConnectionDep,
    ExistingWorkspaceDep,
    PutAnswer,
    PutAnswerDep,
    RuntimeDep,
    WorkspaceDep,
)
from app.runtime import Runtime
from app.topology.service import get_topology
from app.workspaces.service import require_workspace

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["checks"])

CheckPath = Annotated[
    CheckId,
    Path(
        description="The check's id: letters, digits, '.', '_' and '-', up to 64 characters.",
        examples=["checkout"],
    ),
]


@router.get("/checks", response_model=list[Check])
def list_checks(ws: ExistingWorkspaceDep, connection: ConnectionDep) -> list[Check]:
    """Every check of the workspace with its latest result, by id."""
    return service.list_checks(connection, ws)


@router.put("/checks/{check_id}", response_model=Check, responses=PutAnswer.responses(Check))
def put_check(
    ws: WorkspaceDep, check_id: CheckPath, body: CheckIn, runtime: RuntimeDep, answer: PutAnswerDep
) -> Check:
    """Create (201) or replace (200) a check: a page (`http`, with the text it must show), the
    TLS certificate (`tls`), the domain's resolution (`dns`) or the mail server's greeting
    (`smtp`), run every `interval_seconds` (30 at least). Each run is stored as a `call` event
    from `arbiter` to `target`; a changed definition starts its usual time afresh."""
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        service.validate(body, get_topology(connection, ws))
        check, created = service.put_check(connection, ws, check_id, body)
    if check.last is None:  # new, or redefined: its history starts afresh
        forget(runtime, ws, check_id)
    return answer((check, created))


@router.get("/checks/{check_id}", response_model=Check)
def get_check(ws: ExistingWorkspaceDep, check_id: CheckPath, connection: ConnectionDep) -> Check:
    """The check with its latest result, usual time and the certificate's days left."""
    return service.get_check(connection, ws, check_id)


@router.post("/checks/{check_id}/run", response_model=Check)
async def run_now(ws: WorkspaceDep, check_id: CheckPath, runtime: RuntimeDep) -> Check:
    """Run the check now (besides its schedule), store the result and return the check."""
    due = await in_thread(_due, runtime, ws, check_id)
    async with check_client(runtime) as client:
        await run_check(runtime, ws, check_id, due.check, due.status, client=client)
    return await in_thread(_check, runtime, ws, check_id)


def _due(runtime: Runtime, ws: str, check_id: str) -> service.Due:
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        return service.get_due(connection, ws, check_id)


def _check(runtime: Runtime, ws: str, check_id: str) -> Check:
    with runtime.engine.connect() as connection:
        return service.get_check(connection, ws, check_id)


@router.delete("/checks/{check_id}", status_code=204)
def delete_check(ws: WorkspaceDep, check_id: CheckPath, runtime: RuntimeDep) -> Response:
    """Stop and remove the check (its stored events stay, as evidence)."""
    with runtime.engine.begin() as connection:
        require_workspace(connection, ws)
        service.delete_check(connection, ws, check_id)
    forget(runtime, ws, check_id)
    return Response(status_code=204)
