"""The SLA report: a printable page, and the same report as CSV and JSON behind the session.

The API's ``/api/v1/.../reports/sla`` wants a bearer token a browser does not hold; these
downloads answer the signed-in session with the same report (:mod:`app.reports.service`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response

from app.dashboard import reports
from app.dashboard.access import SECURITY_HEADERS, SessionDep, render
from app.dashboard.pages import page_context, page_scope
from app.dashboard.service import Scope
from app.dashboard.sessions import Session, utc_now
from app.deps import RuntimeDep
from app.reports.service import SlaReport, report_csv

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
    )
    return render(request, "sla.html", context, status)


@router.get("/w/{ws}/reports/sla")
async def sla_page(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    since: DayParam = None,
    until: DayParam = None,
) -> Response:
    scope = await page_scope(request, session, runtime, ws)
    if isinstance(scope, Response):
        return scope
    chosen = reports.period(since, until, utc_now())
    if isinstance(chosen, str):
        return _page(request, session, scope, None, None, chosen, 422, since, until)
    report, problem = await run_in_threadpool(reports.sla, runtime, ws, chosen)
    return _page(request, session, scope, chosen, report, problem, 200, since, until)


async def _download(
    request: Request,
    ws: str,
    session: Session,
    runtime: RuntimeDep,
    since: str | None,
    until: str | None,
    extension: str,
) -> Response:
    scope = await page_scope(request, session, runtime, ws)
    if isinstance(scope, Response):
        return scope
    chosen = reports.period(since, until, utc_now())
    if isinstance(chosen, str):
        return _page(request, session, scope, None, None, chosen, 422, since, until)
    report, problem = await run_in_threadpool(reports.sla, runtime, ws, chosen)
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


@router.get("/w/{ws}/reports/sla.csv")
async def sla_csv(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    since: DayParam = None,
    until: DayParam = None,
) -> Response:
    return await _download(request, ws, session, runtime, since, until, "csv")


@router.get("/w/{ws}/reports/sla.json")
async def sla_json(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    since: DayParam = None,
    until: DayParam = None,
) -> Response:
    return await _download(request, ws, session, runtime, since, until, "json")
