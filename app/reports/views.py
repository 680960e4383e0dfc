from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.deps import RuntimeDep, WorkspaceDep
from app.events.models import Moment
from app.exceptions import Invalid
from app.reports.service import SlaReport, report_csv, sla_report

router = APIRouter(prefix="/api/v1/workspaces/{ws}", tags=["reports"])

MAX_PERIOD_DAYS = 400

Since = Annotated[Moment | None, Query(description="Start of the period; default: start of month.")]
Until = Annotated[Moment | None, Query(description="End; default: now.")]


def _start_of_month(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


@router.get(
    "/reports/sla",
    response_model=SlaReport,
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with format=csv"}},
)
def sla(
    ws: WorkspaceDep,
    runtime: RuntimeDep,
    since: Since = None,
    until: Until = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> SlaReport | Response:
    """Per link and per vendor: availability, incidents with time to detect and to resolve,
    entities affected, and breaches of each link's SLA over the period. In money: each
    incident's impact (orders affected and stuck with their value per currency, running costs,
    orders the shop missed as a range), and per vendor with a contract and calendar month the
    breaches with the penalty formula applied, the incidents behind each, the cap and what is
    owed; availability and money at stake per day. The CSV has a row per penalty breach,
    per vendor-month owed and per incident amount (``scope`` says which)."""
    end = (until or datetime.now(UTC)).astimezone(UTC)
    start = (since or _start_of_month(end)).astimezone(UTC)
    if start >= end:
        raise Invalid.one(["query", "since"], "since must be before until")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise Invalid.one(["query", "since"], f"the period may span {MAX_PERIOD_DAYS} days at most")
    report = sla_report(runtime, ws, start, end)
    if format == "json":
        return report
    name = f"sla-{ws}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
