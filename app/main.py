"""The FastAPI application: routers, error handlers, the body limit, and the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from sqlalchemy import text
from starlette.types import ASGIApp, Receive, Scope, Send

from app import egress, errors, gil
from app.accounts.views import api as people_router
from app.accounts.views import router as accounts_dashboard_router
from app.audit.middleware import AuditTrail
from app.audit.views import api as audit_router
from app.audit.views import router as audit_dashboard_router
from app.auth.views import router as tokens_router
from app.checks.views import router as checks_router
from app.connections.views import router as connections_router
from app.contracts.views import router as contracts_router
from app.dashboard import pages as dashboard_pages
from app.dashboard.views import dashboard_static
from app.dashboard.views import router as dashboard_router
from app.diagnosis.views import router as diagnosis_router
from app.events.models import EventBatch
from app.events.views import router as events_router
from app.i18n.middleware import LanguageMiddleware
from app.i18n.views import router as language_router
from app.incidents.views import router as incidents_router
from app.maintenance.views import router as maintenance_router
from app.middleware import BodySizeLimit, NulGuard
from app.notifications.views import router as channels_router
from app.reports.views import router as reports_router
from app.runtime import Runtime
from app.settings import Settings
from app.status.dashboard import router as status_dashboard_router
from app.status.views import public as status_public_router
from app.status.views import router as status_router
from app.telemetry import tracing
from app.telemetry.otlp_ingest import router as otlp_router
from app.topology.views import router as topology_router
from app.vendorlinks.views import api as vendor_links_router
from app.vendorlinks.views import router as vendor_links_dashboard_router
from app.warnings.views import router as warnings_router
from app.webhooks.fast import WebhookFastPath
from app.webhooks.views import router as webhooks_router
from app.workers.service import SERVING, STORE_WORK, WORKSPACE_WORK, BackgroundService, background
from app.workspaces.views import router as workspaces_router

VERSION = "0.1.0"

ROUTERS = (
    workspaces_router,
    topology_router,
    events_router,
    tokens_router,
    people_router,
    audit_router,
    accounts_dashboard_router,
    audit_dashboard_router,
    vendor_links_router,
    vendor_links_dashboard_router,
    diagnosis_router,
    incidents_router,
    channels_router,
    warnings_router,
    reports_router,
    contracts_router,
    checks_router,
    status_router,
    maintenance_router,
    status_public_router,
    status_dashboard_router,
    connections_router,
    webhooks_router,
    otlp_router,
    dashboard_router,
    language_router,
)

BACKGROUND: tuple[BackgroundService, ...] = (*SERVING, *WORKSPACE_WORK, *STORE_WORK)
"""Started when the server starts, by its role (app.workers.service.background), and stopped
in reverse when it stops (pollers, incident evaluator, exporters). Each must log its own
failures, never crash the service."""


class Arbiter(FastAPI):
    """The service's ASGI app: webhook deliveries go first to their fast path
    (app/webhooks/fast.py), in front of FastAPI's and Starlette's own outer layers (error
    middleware, body limit, telemetry), which cost a delivery as much as verifying it did;
    everything else, and what the fast path does not answer, goes through the whole stack."""

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None:
            await super().__call__(scope, receive, send)
        else:
            await self.front(scope, receive, send)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """The service; connects to and migrates the store now, so a bad URL fails at once."""
    runtime = runtime or Runtime.start(settings or Settings())
    egress.configure(runtime.settings.egress)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.callback(runtime.close)
            if runtime.settings.processes.background:
                await stack.enter_async_context(background(runtime))
            yield

    app = Arbiter(
        title="Arbiter",
        version=VERSION,
        summary="Which link of which integration flow failed, how, and who answers for it.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    errors.install(app)
    dashboard_pages.install(app)
    app.add_middleware(BodySizeLimit, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(NulGuard)
    app.add_middleware(AuditTrail)
    app.add_middleware(LanguageMiddleware)
    tracing.install(app, runtime, version=VERSION)
    app.front = WebhookFastPath(super(Arbiter, app).__call__, runtime=runtime)
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", dashboard_static(), name="static")

    @app.get("/healthz", tags=["health"])
    def healthz() -> JSONResponse:
        """Liveness, and whether the store answers (503 when it does not)."""
        try:
            with runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # the answer is the health report itself
            errors.log.warning("store health check failed: %s", exc)
            return JSONResponse({"status": "degraded", "store": "unreachable"}, 503)
        return JSONResponse({"status": "ok", "store": "ok"})

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes
            )
            # The events route parses JSON and NDJSON itself; its body schema is added here.
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            batch = EventBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(batch.pop("$defs", {}))
            components["EventBatch"] = batch
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    gil.configure()  # the event loop gets the GIL back quickly (app/gil.py)
    return app
