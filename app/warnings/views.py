from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import RuntimeDep, WorkspaceDep
from app.events.models import Moment
from app.warnings.models import WarningList
from app.warnings.service import warnings_for

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["warnings"])

AsOf = Annotated[Moment | None, Query(description="As of this moment (RFC 3339); default: now.")]


@router.get("/warnings", response_model=WarningList, response_model_by_alias=True)
def warnings(ws: WorkspaceDep, runtime: RuntimeDep, as_of: AsOf = None) -> WarningList:
    """What is about to go wrong: rising error rates, backlogs and latency, silent systems,
    failing credentials, rate-limit pressure, webhooks about to be disabled. Distinct from
    incidents, which are failures that already happened."""
    moment = (as_of or datetime.now(UTC)).astimezone(UTC)
    return warnings_for(runtime, ws, moment)
