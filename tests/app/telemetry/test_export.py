"""Journeys exported as OTLP traces, decoded with opentelemetry-proto at a local receiver."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from app.telemetry.export import JourneyExporter
from app.telemetry.journey_spans import trace_id_of
from app.telemetry.spans import attributes
from tests.app.telemetry.conftest import Receiver, prepare_workspace
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import CONTRACT_EVENTS

AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

ERP_SEEN = {
    "id": "erp-order-ZK-123",
    "time": "2026-11-25T10:20:00Z",
    "flow": "order",
    "kind": "seen",
    "system": "erp",
    "refs": {"erp": "ZK/123/2026", "oms": "7789"},
    "state": "booked",
}


@pytest.fixture
def worker(client: TestClient, otlp_receiver: Receiver) -> JourneyExporter:
    """The ``acme`` workspace prepared, and an exporter of its journeys to the receiver."""
    prepare_workspace(client)
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    otlp = OTLPSpanExporter(endpoint=f"{otlp_receiver.url}/v1/traces", timeout=5)
    exporter = JourneyExporter(runtime.engine, runtime.indexes, otlp)
    exporter.start()
    return exporter


def _post(client: TestClient, *events: dict[str, Any]) -> None:
    response = client.post("/api/v1/workspaces/acme/events", json={"events": list(events)})
    assert response.status_code == 202, response.text


def _by_name(otlp_receiver: Receiver) -> dict[str, tuple[dict[str, Any], Span]]:
    return {span.name: (resource, span) for resource, span in otlp_receiver.spans()}


def test_each_journey_is_a_trace_with_a_deterministic_id(
    client: TestClient, otlp_receiver: Receiver, worker: JourneyExporter
) -> None:
    _post(client, *CONTRACT_EVENTS)

    report = worker.export_once(AS_OF)
    assert (report.journeys, report.failed) == (2, 0)
    spans = _by_name(otlp_receiver)
    order_trace = trace_id_of("acme", ("shop", "100045")).to_bytes(16, "big")
    stock_trace = trace_id_of("acme", ("sku", "ABC-1")).to_bytes(16, "big")
    assert spans["journey shop:100045"][1].trace_id == order_trace
    assert spans["journey sku:ABC-1"][1].trace_id == stock_trace
    assert order_trace == bytes.fromhex(
        hashlib.sha256(b'["acme", "shop", "100045"]').hexdigest()[:32]
    )

    resource, root = spans["journey shop:100045"]
    assert resource["service.name"] == "arbiter-journeys"
    assert resource["service.namespace"] == "acme"
    root_attrs = attributes(root.attributes)
    assert root_attrs["arbiter.journey.key"] == "shop:100045"
    assert root_attrs["arbiter.ref.oms"] == ["7789"]
    assert [e.name for e in root.events] == ["seen in shop"]

    _, hop = spans["order oms→erp"]
    assert hop.trace_id == order_trace
    assert hop.parent_span_id == root.span_id
    hop_attrs = attributes(hop.attributes)
    assert hop_attrs["arbiter.link.owner"] == "ERP partner"
    assert hop_attrs["arbiter.link.sla_seconds"] == 900
    assert hop_attrs["arbiter.link.initiator"] == "from"
    assert hop_attrs["arbiter.hop.status"] in ("ok", "pending", "failed", "blocked")
    assert "order shop→oms" in spans

    call_resource, call = next(
        (r, s) for r, s in otlp_receiver.spans() if s.kind == Span.SPAN_KIND_CLIENT
    )
    assert call_resource["service.name"] == "oms"
    assert call.trace_id == order_trace
    call_attrs = attributes(call.attributes)
    assert call_attrs["http.response.status_code"] == 503
    assert call_attrs["peer.service"] == "erp"
    assert call_attrs["server.address"] == "erp"
    assert call_attrs["error.type"] == "503"
    assert call.status.message == "upstream timeout"
    assert call.end_time_unix_nano - call.start_time_unix_nano == 30_000_000_000

    # Nothing changed: nothing is sent again.
    sent = len(otlp_receiver.requests)
    assert worker.export_once(AS_OF).journeys == 0
    assert len(otlp_receiver.requests) == sent

    # The ERP's own id joins the journey: the journey is sent again, under the same trace id.
    _post(client, ERP_SEEN)
    assert worker.export_once(AS_OF).journeys == 1
    latest = otlp_receiver.requests[-1]
    roots = [
        span
        for rs in latest.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
        if span.name.startswith("journey ")
    ]
    assert [(r.name, r.trace_id) for r in roots] == [("journey shop:100045", order_trace)]
    assert attributes(roots[0].attributes)["arbiter.ref.erp"] == ["ZK/123/2026"]


def test_a_failed_export_is_retried_next_round(
    client: TestClient, otlp_receiver: Receiver, worker: JourneyExporter
) -> None:
    _post(client, CONTRACT_EVENTS[0])
    otlp_receiver.status = 500
    assert worker.export_once(AS_OF).failed == 1
    otlp_receiver.status = 200
    assert worker.export_once(AS_OF).journeys == 1
    assert "journey shop:100045" in _by_name(otlp_receiver)


def test_the_background_service_exports_journeys_and_request_spans(
    settings_factory: Callable[..., Settings], otlp_receiver: Receiver
) -> None:
    settings = settings_factory(
        otlp_export_endpoint=otlp_receiver.url,
        otlp_export_interval_seconds=0.1,
        otlp_export_headers={"X-Api-Key": "secret-key"},
    )
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        prepare_workspace(client)
        _post(client, *CONTRACT_EVENTS)
        otlp_receiver.wait_for(lambda: "journey shop:100045" in _by_name(otlp_receiver))
    # Stopping the service flushed its own request spans.
    spans = otlp_receiver.spans()
    server_spans = [(r, s) for r, s in spans if s.kind == Span.SPAN_KIND_SERVER]
    routes = {attributes(span.attributes).get("http.route") for _, span in server_spans}
    assert "/api/v1/workspaces/{ws}/events" in routes
    resource, span = next(
        (r, s) for r, s in server_spans if s.name == "POST /api/v1/workspaces/{ws}/events"
    )
    assert resource["service.name"] == "arbiter"
    assert attributes(span.attributes)["http.response.status_code"] == 202
    assert all(h.get("x-api-key") == "secret-key" for h in otlp_receiver.headers)


def test_export_is_off_unless_configured(settings_factory: Callable[..., Settings]) -> None:
    app = create_app(settings_factory())
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        prepare_workspace(client)
        _post(client, *CONTRACT_EVENTS)
        assert client.get("/healthz").status_code == 200


def test_a_pending_hop_falling_due_is_exported_again(
    client: TestClient, otlp_receiver: Receiver, worker: JourneyExporter
) -> None:
    _post(client, CONTRACT_EVENTS[0])  # the shop's order at 10:00; shop→oms has 600 s
    assert worker.export_once(datetime(2026, 11, 25, 10, 5, tzinfo=UTC)).journeys == 1
    assert worker.export_once(datetime(2026, 11, 25, 10, 6, tzinfo=UTC)).journeys == 0
    # Past the deadline (and the skew allowance) the hop has failed: the journey goes again.
    assert worker.export_once(datetime(2026, 11, 25, 10, 30, tzinfo=UTC)).journeys == 1
    statuses = [
        attributes(span.attributes)["arbiter.hop.status"]
        for _, span in otlp_receiver.spans()
        if span.name == "order shop→oms"
    ]
    assert statuses == ["pending", "failed"]
