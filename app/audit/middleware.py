"""Changes through the API go to the workspace's audit trail: who, which change, when.

Every successful POST, PUT, PATCH or DELETE under ``/api/v1/workspaces/{ws}/`` is recorded
after it answered (topology, connections, alert channels, maintenance, checks, contracts...),
and so is every dashboard form posted under ``/w/{ws}/`` (status page updates, maintenance),
by its route (``PUT /topology``), never by its body: bodies hold connection secrets and
channel URLs. Event ingest is data, not a change, and the routes that record a richer entry
themselves (tokens, invitations, vendor links, acknowledgements, notes) are left to do so.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.audit import service as audit
from app.auth.service import Principal

log = logging.getLogger("arbiter.audit")

PRINCIPAL_KEY = "arbiter_principal"
"""Where the bearer-token dependency leaves the caller in the request's state."""
PREFIX = "/api/v1/workspaces/"
PAGES = "/w/"
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SELF_RECORDED = (
    "/events",
    "/tokens",
    "/invitations",
    "/vendor-links",
    "/revoke",
    "/acknowledge",
    "/notes",
    "/people/invite",
)


class AuditTrail:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in CHANGES:
            await self.app(scope, receive, send)
            return
        status = 500

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watching)
        principal = scope.get("state", {}).get(PRINCIPAL_KEY)
        if status < 400 and isinstance(principal, Principal):
            await run_in_threadpool(self._record, scope, principal)

    def _record(self, scope: Scope, principal: Principal) -> None:
        path: str = scope["path"]
        prefix = next((p for p in (PREFIX, PAGES) if path.startswith(p)), None)
        if prefix is None or path.rstrip("/").endswith(SELF_RECORDED) or "/people/" in path:
            return
        ws, _, rest = path[len(prefix) :].partition("/")
        route = getattr(scope.get("route"), "path", None)
        what = route[len(prefix + "{ws}") :] if route and route.startswith(prefix) else "/" + rest
        runtime = scope["app"].state.runtime
        try:
            with runtime.engine.begin() as connection:
                audit.record(
                    connection,
                    ws,
                    principal.name,
                    f"{scope['method']} {what or '/'}",
                    path,
                    datetime.now(UTC),
                )
        except Exception:  # the change itself stands; a lost entry is logged, never a 500
            log.exception("audit entry for %s %s not recorded", scope["method"], path)
