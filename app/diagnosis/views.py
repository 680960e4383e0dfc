from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import RuntimeDep, WorkspaceDep
from app.events.models import Moment
from app.exceptions import NotFound
from graph.results import Diagnosis, Trace

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["diagnosis"])

AsOf = Annotated[
    Moment | None,
    Query(description="Diagnose as of this moment (RFC 3339); default: now."),
]


@router.get("/diagnosis", response_model=Diagnosis, response_model_by_alias=True)
def diagnosis(
    ws: WorkspaceDep,
    runtime: RuntimeDep,
    as_of: AsOf = None,
    window_seconds: Annotated[float, Query(gt=0, le=90 * 86400)] = 86400,
) -> Diagnosis:
    """The ranked suspects, most likely first; an empty list means nothing is wrong."""
    moment = as_of or datetime.now(UTC)
    return runtime.indexes.diagnose(ws, moment, window_seconds)


@router.get("/traces/{namespace}/{value:path}", response_model=Trace, response_model_by_alias=True)
def trace(
    ws: WorkspaceDep, namespace: str, value: str, runtime: RuntimeDep, as_of: AsOf = None
) -> Trace:
    """The journey of the entity with that identifier across every system."""
    moment = as_of or datetime.now(UTC)
    result = runtime.indexes.trace(ws, namespace, value, moment)
    if result is None:
        raise NotFound(f"no event names {namespace}:{value}")
    return result
