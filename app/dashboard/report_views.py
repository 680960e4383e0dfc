"""The SLA report: a printable page, and the same report as CSV and JSON behind the session.

The API's ``/api/v1/.../reports/sla`` wants a bearer token a browser does not hold; these
downloads answer the signed-in session with the same report (:mod:`app.reports.service`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response

from app.dashboard import reports
from app.dashboard.access import SECURITY_HEADERS
from app.dashboard.pages import Page, PageDep
from app.dashboard.sessions import utc_now
from app.reports.service import SlaReport, report_csv

router = APIRouter(include_in_schema=False)

DayParam = Annotated[str | None, Query(max_length=64)]


@dataclass(frozen=True)
class _Asked:
    """What an SLA route is asked: by whom, for which workspace, and the period as typed."""

    page: Page
    since: str | None
    until: str | None

    def shown(
        self,
        chosen: reports.Period | None,
        report: SlaReport | None,
        problem: str | None,
        status: int,
    ) -> Response:
        query = ""
        if chosen is not None:
            query = f"?since={chosen.since_day}&until={chosen.until_day}"
        return self.page.render(
            "sla.html",
            "sla",
            status,
            period=chosen,
            report=report,
            problem=problem,
            since_value=chosen.since_day if chosen else (self.since or ""),
            until_value=chosen.until_day if chosen else (self.until or ""),
            download_query=query,
            availability_chart=reports.availability_chart(report) if report else None,
            money_charts=reports.money_charts(report) if report else [],
        )

    def period_report(
        self,
    ) -> tuple[reports.Period, SlaReport | None, str | None] | Response:
        """The period asked for and its report (or why there is none), else the 422 page."""
        chosen = reports.period(self.since, self.until, utc_now())
        if isinstance(chosen, str):
            return self.shown(None, None, chosen, 422)
        report, problem = reports.sla(self.page.runtime, self.page.ws, chosen)
        return chosen, report, problem


def _asked(page: PageDep, since: DayParam = None, until: DayParam = None) -> _Asked:
    return _Asked(page, since, until)


AskedDep = Annotated[_Asked, Depends(_asked)]


@router.get("/w/{ws}/reports/sla")
def sla_page(asked: AskedDep) -> Response:
    found = asked.period_report()
    if isinstance(found, Response):
        return found
    chosen, report, problem = found
    return asked.shown(chosen, report, problem, 200)


@router.get("/w/{ws}/reports/sla.csv")
@router.get("/w/{ws}/reports/sla.json")
def sla_download(asked: AskedDep) -> Response:
    """The report as a CSV or JSON file, by the extension of the path."""
    extension = asked.page.request.url.path.rsplit(".", 1)[1]
    found = asked.period_report()
    if isinstance(found, Response):
        return found
    chosen, report, problem = found
    if report is None:
        return asked.shown(chosen, None, problem, 409)
    name = reports.file_name(asked.page.ws, chosen, extension)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{name}"'}
    if extension == "csv":
        return PlainTextResponse(
            report_csv(report), media_type="text/csv; charset=utf-8", headers=headers
        )
    return JSONResponse(report.model_dump(mode="json", by_alias=True), headers=headers)
