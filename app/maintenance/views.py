"""Planned maintenance windows as resources a script can POST, list and DELETE."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.deps import ConnectionDep, ExistingWorkspaceDep
from app.maintenance import service
from app.maintenance.models import Window, WindowIn
from app.topology.service import get_topology

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["maintenance"])

WindowPath = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/maintenance", response_model=Window, status_code=201)
def create_window(ws: ExistingWorkspaceDep, body: WindowIn, connection: ConnectionDep) -> Window:
    """Declare a planned maintenance window of one system (at most 7 days): no incident opens
    for what it causes, its time is not downtime in the SLA report, and the public status
    page announces it in advance (without naming the system)."""
    service.validate(body, get_topology(connection, ws))
    return service.create(connection, ws, body)


@router.get("/maintenance", response_model=list[Window])
def list_windows(
    ws: ExistingWorkspaceDep,
    connection: ConnectionDep,
    since: Annotated[datetime | None, Query(description="Default: 30 days ago.")] = None,
    until: Annotated[datetime | None, Query(description="Default: 90 days ahead.")] = None,
) -> list[Window]:
    """The windows overlapping ``[since, until)``, earliest first."""
    now = datetime.now(UTC)
    start = _aware(since) or now - timedelta(days=30)
    end = _aware(until) or now + timedelta(days=90)
    return service.windows_between(connection, ws, start, end)


@router.delete("/maintenance/{window_id}", status_code=204)
def delete_window(
    ws: ExistingWorkspaceDep, window_id: WindowPath, connection: ConnectionDep
) -> Response:
    """Cancel a window."""
    service.delete_window(connection, ws, window_id)
    return Response(status_code=204)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
