"""The SLA report: a printable page, and the same report as CSV and JSON behind the session.

The API's ``/api/v1/.../reports/sla`` wants a bearer token a browser does not hold; these
downloads answer the signed-in session with the same report (:mod:`app.reports.service`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response

from app.dashboard import reports
from app.dashboard.access import SECURITY_HEADERS, SessionDep, render
from app.dashboard.pages import ScopeDep, page_context
from app.dashboard.service import Scope
from app.dashboard.sessions import Session, utc_now
from app.deps import RuntimeDep
from app.reports.service import SlaReport, report_csv
from app.runtime import Runtime

router = APIRouter(include_in_schema=False)

DayParam = Annotated[str | None, Query(max_length=64)]


def _page(
    request: Request,
    session: Session,
    scope: Scope,
    chosen: reports.Period | None,
    report: SlaReport | None,
    problem: str | None,
    status: int,
    since: str | None,
    until: str | None,
) -> Response:
    query = ""
    if chosen is not None:
        query = f"?since={chosen.since_day}&until={chosen.until_day}"
    context = page_context(
        session,
        scope,
        "sla",
        period=chosen,
        report=report,
        problem=problem,
        since_value=chosen.since_day if chosen else (since or ""),
        until_value=chosen.until_day if chosen else (until or ""),
        download_query=query,
        availability_chart=reports.availability_chart(report) if report else None,
        money_charts=reports.money_charts(report) if report else [],
    )
    return render(request, "sla.html", context, status)


@router.get("/w/{ws}/reports/sla")
def sla_page(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: ScopeDep,
    since: DayParam = None,
    until: DayParam = None,
) -> Response:
    found = _period_report(request, session, runtime, ws, scope, since, until)
    if isinstance(found, Response):
        return found
    chosen, report, problem = found
    return _page(request, session, scope, chosen, report, problem, 200, since, until)


def _period_report(
    request: Request,
    session: Session,
    runtime: Runtime,
    ws: str,
    scope: Scope,
    since: str | None,
    until: str | None,
) -> tuple[reports.Period, SlaReport | None, str | None] | Response:
    """The period asked for and its report (or why there is none), else the 422 page."""
    chosen = reports.period(since, until, utc_now())
    if isinstance(chosen, str):
        return _page(request, session, scope, None, None, chosen, 422, since, until)
    report, problem = reports.sla(runtime, ws, chosen)
    return chosen, report, problem


@router.get("/w/{ws}/reports/sla.csv")
@router.get("/w/{ws}/reports/sla.json")
def sla_download(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: ScopeDep,
    since: DayParam = None,
    until: DayParam = None,
) -> Response:
    """The report as a CSV or JSON file, by the extension of the path."""
    extension = request.url.path.rsplit(".", 1)[1]
    found = _period_report(request, session, runtime, ws, scope, since, until)
    if isinstance(found, Response):
        return found
    chosen, report, problem = found
    if report is None:
        return _page(request, session, scope, chosen, None, problem, 409, since, until)
    headers = {
        **SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{reports.file_name(ws, chosen, extension)}"',
    }
    if extension == "csv":
        return PlainTextResponse(
            report_csv(report), media_type="text/csv; charset=utf-8", headers=headers
        )
    return JSONResponse(report.model_dump(mode="json", by_alias=True), headers=headers)
