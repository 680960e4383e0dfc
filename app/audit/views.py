"""The audit trail: searchable on the dashboard (operators and owners), exportable by API."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from app.audit import service as audit
from app.dashboard.access import iso
from app.dashboard.pages import OperatorPageDep
from app.deps import ConnectionDep, ExistingWorkspaceDep

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/workspaces/{ws}/audit", tags=["audit"])

SearchParam = Annotated[str, Query(max_length=200)]


@router.get("/w/{ws}/audit")
def audit_page(page: OperatorPageDep, connection: ConnectionDep, q: SearchParam = "") -> Response:
    entries = audit.search(connection, page.ws, q.strip(), 500)
    return page.render("audit.html", "audit", entries=entries, query=q)


def _cell(text: str) -> str:
    """A typed name such as ``=HYPERLINK(...)`` stays text when the CSV opens in a spreadsheet."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(entry: audit.AuditEvent) -> dict[str, str]:
    return {
        "at": iso(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": json.dumps(entry.detail, sort_keys=True),
    }


@api.get("", responses={200: {"content": {"text/csv": {}}}})
def export(
    ws: ExistingWorkspaceDep,
    connection: ConnectionDep,
    q: SearchParam = "",
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """The workspace's audit trail, newest first: JSON (a list) or CSV (``format=csv``); ``q``
    keeps the entries whose actor, action or target contains it."""
    rows = [_row(e) for e in audit.search(connection, ws, q.strip(), limit)]
    if format == "json":
        return JSONResponse([{**r, "detail": json.loads(r["detail"])} for r in rows])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["at", "actor", "action", "target", "detail"])
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in r.items()} for r in rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{ws}.csv"'},
    )
