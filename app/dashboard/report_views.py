"""The SLA report: a printable page, and the same report as CSV and JSON behind the session.

The API's ``/api/v1/.../reports/sla`` wants a bearer token a browser does not hold; these
downloads answer the signed-in session with the same report (:mod:`app.reports.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
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


@dataclass(frozen=True)
class _Asked:
    """What an SLA route is asked: by whom, for which workspace, and the period as typed."""

    request: Request
    session: Session
    scope: Scope
    runtime: Runtime
    ws: str
    since: str | None
    until: str | None

    def page(
        self,
        chosen: reports.Period | None,
        report: SlaReport | None,
        problem: str | None,
        status: int,
    ) -> Response:
        query = ""
        if chosen is not None:
            query = f"?since={chosen.since_day}&until={chosen.until_day}"
        context = page_context(
            self.session,
            self.scope,
            "sla",
            period=chosen,
            report=report,
            problem=problem,
            since_value=chosen.since_day if chosen else (self.since or ""),
            until_value=chosen.until_day if chosen else (self.until or ""),
            download_query=query,
            availability_chart=reports.availability_chart(report) if report else None,
            money_charts=reports.money_charts(report) if report else [],
        )
        return render(self.request, "sla.html", context, status)

    def period_report(
        self,
    ) -> tuple[reports.Period, SlaReport | None, str | None] | Response:
        """The period asked for and its report (or why there is none), else the 422 page."""
        chosen = reports.period(self.since, self.until, utc_now())
        if isinstance(chosen, str):
            return self.page(None, None, chosen, 422)
        report, problem = reports.sla(self.runtime, self.ws, chosen)
        return chosen, report, problem


def _asked(
    request: Request,
    ws: str,
    session: SessionDep,
    runtime: RuntimeDep,
    scope: ScopeDep,
    since: DayParam = None,
    until: DayParam = None,
) -> _Asked:
    return _Asked(request, session, scope, runtime, ws, since, until)


AskedDep = Annotated[_Asked, Depends(_asked)]


@router.get("/w/{ws}/reports/sla")
def sla_page(asked: AskedDep) -> Response:
    found = asked.period_report()
    if isinstance(found, Response):
        return found
    chosen, report, problem = found
    return asked.page(chosen, report, problem, 200)


@router.get("/w/{ws}/reports/sla.csv")
@router.get("/w/{ws}/reports/sla.json")
def sla_download(asked: AskedDep) -> Response:
    """The report as a CSV or JSON file, by the extension of the path."""
    extension = asked.request.url.path.rsplit(".", 1)[1]
    found = asked.period_report()
    if isinstance(found, Response):
        return found
    chosen, report, problem = found
    if report is None:
        return asked.page(chosen, None, problem, 409)
    name = reports.file_name(asked.ws, chosen, extension)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    if extension == "csv":
        return PlainTextResponse(
            report_csv(report), media_type="text/csv; charset=utf-8", headers=headers
        )
    return JSONResponse(report.model_dump(mode="json", by_alias=True), headers=headers)
