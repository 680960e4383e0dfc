"""Arbiter's own telemetry: a span per HTTP request it answers, and the Prometheus metrics.

:func:`install` adds one ASGI middleware that times every request into the metrics and, when
``otlp_export_endpoint`` is set (and ``otlp_self_tracing`` on), records a SERVER span per
request with the HTTP semantic conventions, continuing the caller's W3C ``traceparent``. The
spans go out through the SDK's batch processor and OTLP/HTTP exporter, which is flushed when
the server stops. It also serves ``GET /metrics``.

The tracer provider belongs to the app, not to the process-wide OpenTelemetry globals, so that
several apps (tests) never fight over them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from fastapi import Depends, FastAPI
from fastapi.responses import Response
from opentelemetry import trace
from opentelemetry.propagate import extract
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.deps import admin
from app.runtime import Runtime
from app.settings import Settings
from app.telemetry import metrics
from app.telemetry.export import span_exporter
from graph.model import ARBITER_SYSTEM, Event

log = logging.getLogger("arbiter.telemetry")

UNMATCHED = "unmatched"
_QUIET_ROUTES = frozenset({"/metrics", "/healthz"})
_DIAGNOSIS_SUFFIX = "/diagnosis"


def install(app: FastAPI, runtime: Runtime, *, version: str) -> None:
    """Add the request middleware, the stored-events counter and ``GET /metrics`` to ``app``."""
    provider = tracer_provider(runtime.settings, version=version)
    tracer = provider.get_tracer("arbiter.http", version) if provider is not None else None
    app.add_middleware(RequestTelemetry, tracer=tracer, provider=provider)
    runtime.listeners.append(_count_stored)

    # Its series name workspaces and systems: the admin token unless the operator opts out.
    guard = [] if runtime.settings.metrics_public else [Depends(admin)]

    @app.get("/metrics", tags=["health"], response_class=Response, dependencies=guard)
    def prometheus_metrics() -> Response:
        """Prometheus metrics in the text exposition format; the admin token is needed unless
        ARBITER_METRICS_PUBLIC is true."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)


def _count_stored(workspace_id: str, stored: Sequence[tuple[int, Event]]) -> None:
    metrics.record_stored(workspace_id, len(stored))
    for _, event in stored:
        # Connectors record each of their own calls as a probe event of system `arbiter`.
        if event.system == ARBITER_SYSTEM and event.kind == "call" and event.target:
            status = event.outcome.status if event.outcome is not None else None
            metrics.record_connector_call(workspace_id, event.target, status)


def tracer_provider(settings: Settings, *, version: str) -> TracerProvider | None:
    """The provider of the service's own spans; None when they go nowhere."""
    if not settings.otlp.self_tracing:
        return None
    exporter = span_exporter(settings)
    if exporter is None:
        return None
    resource = Resource.create({"service.name": "arbiter", "service.version": version})
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class RequestTelemetry:
    """Times each HTTP request into the metrics and, with a tracer, records its span."""

    def __init__(
        self, app: ASGIApp, *, tracer: Tracer | None, provider: TracerProvider | None
    ) -> None:
        self.app = app
        self.tracer = tracer
        self.provider = provider

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" and self.provider is not None:
            await self.app(scope, receive, self._flush_on_shutdown(send))
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        method: str = scope.get("method", "GET")

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        span = self._start_span(scope, method)
        try:
            if span is None:
                await self.app(scope, receive, send_status)
            else:
                with trace.use_span(span, end_on_exit=False, record_exception=True):
                    await self.app(scope, receive, send_status)
        finally:
            seconds = time.perf_counter() - started
            route = _route(scope)
            try:
                metrics.record_http(method, route, status, seconds)
                if route.endswith(_DIAGNOSIS_SUFFIX) and status < 400:
                    metrics.observe_diagnosis(seconds, source="api")
                if span is not None:
                    _finish_span(span, method, route, status)
            except Exception:  # telemetry must never turn an answer into a failure
                log.exception("request telemetry failed")

    def _start_span(self, scope: Scope, method: str) -> trace.Span | None:
        if self.tracer is None or scope.get("path") in _QUIET_ROUTES:
            return None
        headers = {
            key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]
        }
        attributes: dict[str, str | int] = {
            "http.request.method": method,
            "url.path": scope.get("path", ""),
            "url.scheme": scope.get("scheme", "http"),
        }
        server = scope.get("server")
        if server:
            attributes["server.address"] = str(server[0])
            if server[1] is not None:
                attributes["server.port"] = int(server[1])
        client = scope.get("client")
        if client:
            attributes["client.address"] = str(client[0])
        agent = headers.get("user-agent")
        if agent:
            attributes["user_agent.original"] = agent[:256]
        return self.tracer.start_span(
            method, context=extract(headers), kind=SpanKind.SERVER, attributes=attributes
        )

    def _flush_on_shutdown(self, send: Send) -> Send:
        provider = self.provider
        assert provider is not None

        async def send_and_flush(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                try:
                    await asyncio.to_thread(provider.shutdown)
                except Exception:
                    log.exception("flushing the service's own spans failed")
            await send(message)

        return send_and_flush


def _route(scope: Scope) -> str:
    """The route template (``/api/v1/workspaces/{ws}/events``), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


def _finish_span(span: trace.Span, method: str, route: str, status: int) -> None:
    if route != UNMATCHED:
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_attribute("error.type", str(status))
        span.set_status(Status(StatusCode.ERROR))
    span.end()
