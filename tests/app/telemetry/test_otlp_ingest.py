"""POST /v1/traces: CLIENT spans of integration middleware become call events."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from app.main import create_app
from app.settings import Settings
from tests.app.telemetry.conftest import Served, prepare_workspace
from tests.conftest import ADMIN_TOKEN

TRACE_HEX = "5b8efff798038103d269b633813fc60c"
START = datetime(2026, 11, 25, 10, 3, 10, tzinfo=UTC)
START_NS = int(START.timestamp()) * 1_000_000_000


def _record(service: str, make: Callable[[Any], None]) -> list[Any]:
    """Spans made by the real SDK tracer of ``service``, kept in memory."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": service}), shutdown_on_exit=False
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    make(provider.get_tracer("middleware"))
    provider.shutdown()
    return list(memory.get_finished_spans())


def _middleware_spans(tracer: Any) -> None:
    with tracer.start_as_current_span(
        "POST /orders",
        kind=SpanKind.CLIENT,
        start_time=START_NS,
        attributes={
            "peer.service": "erp",
            "http.request.method": "POST",
            "http.response.status_code": 503,
            "arbiter.flow": "order",
            "order.id": "7789",
            "arbiter.ref.shop": "100045",
        },
        end_on_exit=False,
    ) as span:
        span.set_status(Status(StatusCode.ERROR, "upstream timeout"))
        span.end(START_NS + 30_000_000_000)
    with tracer.start_as_current_span(
        "POST",
        kind=SpanKind.CLIENT,
        start_time=START_NS + 60_000_000_000,
        attributes={"server.address": "erp", "arbiter.flow": "order", "order.id": "7790"},
        end_on_exit=False,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        span.record_exception(TimeoutError("read timed out"))
        span.set_status(Status(StatusCode.ERROR))
        span.end(START_NS + 65_000_000_000)
    with tracer.start_as_current_span("GET /health", kind=SpanKind.SERVER):
        pass
    # oms→erp carries both flows of the CONTRACT.md topology: ambiguous without arbiter.flow.
    with tracer.start_as_current_span(
        "GET /stock",
        kind=SpanKind.CLIENT,
        attributes={"peer.service": "erp", "http.response.status_code": 200},
    ):
        pass


def test_spans_from_the_real_sdk_exporter_become_call_events(served: Served) -> None:
    spans = _record("oms", _middleware_spans)
    exporter = OTLPSpanExporter(
        endpoint=f"{served.url}/v1/traces",
        headers={"Authorization": f"Bearer {served.token}"},
        timeout=10,
    )
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        calls = served.events()
        assert [e["outcome"] for e in calls] == [
            {"status": 503, "duration_ms": 30000.0, "error": "upstream timeout"},
            {"status": None, "duration_ms": 5000.0, "error": "TimeoutError: read timed out"},
        ]
        first = calls[0]
        assert first["kind"] == "call"
        assert (first["system"], first["target"], first["flow"]) == ("oms", "erp", "order")
        assert first["refs"] == {"oms": "7789", "shop": "100045"}
        assert first["time"] == "2026-11-25T10:03:10Z"
        assert first["data"] == {"http.request.method": "POST"}
        context = spans[0].context
        assert first["id"] == f"otlp-{context.trace_id:032x}-{context.span_id:016x}"

        # Re-sent spans are duplicates, not second calls.
        assert exporter.export(spans) == SpanExportResult.SUCCESS
        assert len(served.events()) == 2
    finally:
        exporter.shutdown()


def test_the_sdk_exporter_with_gzip(served: Served) -> None:
    spans = _record("oms", _middleware_spans)[:1]
    exporter = OTLPSpanExporter(
        endpoint=f"{served.url}/v1/traces",
        headers={"Authorization": f"Bearer {served.token}"},
        compression=Compression.Gzip,
        timeout=10,
    )
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert [e["outcome"]["status"] for e in served.events()] == [503]


# -- OTLP/JSON ---------------------------------------------------------------------------------


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def json_span(
    span_id: str, *, trace_id: str = TRACE_HEX, kind: int = 3, **attributes: Any
) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "POST /orders",
        "kind": kind,
        "startTimeUnixNano": str(START_NS),
        "endTimeUnixNano": str(START_NS + 250_000_000),
        "attributes": [_kv(k.replace("__", "."), v) for k, v in attributes.items()],
        "status": {},
    }


def otlp_json(*spans: dict[str, Any], service: str = "oms") -> dict[str, Any]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [_kv("service.name", service)]},
                "scopeSpans": [{"scope": {"name": "middleware"}, "spans": list(spans)}],
            }
        ]
    }


ORDER_CALL = {
    "peer__service": "erp",
    "arbiter__flow": "order",
    "http__response__status_code": 201,
    "order__id": "7789",
}


def _post(client: TestClient, body: Any, **headers: str) -> Any:
    return client.post(
        "/v1/traces",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


def _events(client: TestClient, ws: str = "acme") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = client.get(f"/api/v1/workspaces/{ws}/events").json()["events"]
    return events


def test_json_with_hex_ids(client: TestClient, workspace_token: str) -> None:
    body = otlp_json(json_span("eee19b7ec3c1b174", **ORDER_CALL))
    response = _post(client, body, Authorization=f"Bearer {workspace_token}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    (event,) = _events(client)
    assert event["id"] == f"otlp-{TRACE_HEX}-eee19b7ec3c1b174"
    assert event["outcome"] == {"status": 201, "duration_ms": 250.0, "error": None}


def test_json_with_base64_ids_is_tolerated(client: TestClient, workspace_token: str) -> None:
    trace_b64 = base64.b64encode(bytes.fromhex(TRACE_HEX)).decode()
    span_b64 = base64.b64encode(bytes.fromhex("eee19b7ec3c1b174")).decode()
    body = otlp_json(json_span(span_b64, trace_id=trace_b64, **ORDER_CALL))
    assert _post(client, body, Authorization=f"Bearer {workspace_token}").json() == {}
    # The same span in hex is the same event: a duplicate.
    hex_body = otlp_json(json_span("eee19b7ec3c1b174", **ORDER_CALL))
    assert _post(client, hex_body, Authorization=f"Bearer {workspace_token}").status_code == 200
    assert [e["id"] for e in _events(client)] == [f"otlp-{TRACE_HEX}-eee19b7ec3c1b174"]


def test_gzip_json(client: TestClient, workspace_token: str) -> None:
    body = gzip.compress(
        json.dumps(otlp_json(json_span("00000000000000a1", **ORDER_CALL))).encode()
    )
    response = client.post(
        "/v1/traces",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
            "Authorization": f"Bearer {workspace_token}",
        },
    )
    assert response.status_code == 200, response.text
    assert len(_events(client)) == 1


def test_admin_token_names_the_workspace_by_header(
    client: TestClient, workspace_token: str
) -> None:
    body = otlp_json(json_span("00000000000000b1", **ORDER_CALL))
    missing = _post(client, body)
    assert missing.status_code == 400
    assert "X-Arbiter-Workspace" in missing.json()["message"]
    assert _post(client, body, **{"X-Arbiter-Workspace": "acme"}).status_code == 200
    assert len(_events(client)) == 1
    unknown = _post(client, body, **{"X-Arbiter-Workspace": "nowhere"})
    assert unknown.status_code == 404


def test_tokens_are_checked(client: TestClient, workspace_token: str) -> None:
    body = otlp_json(json_span("00000000000000c1", **ORDER_CALL))
    bad = _post(client, body, Authorization="Bearer arb_not_a_token")
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    other = _post(
        client, body, Authorization=f"Bearer {workspace_token}", **{"X-Arbiter-Workspace": "other"}
    )
    assert other.status_code == 403
    assert _events(client) == []


def test_errors_answer_in_protobuf_to_protobuf(client: TestClient, workspace_token: str) -> None:
    response = client.post(
        "/v1/traces",
        content=b"\xff\xff not protobuf",
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {workspace_token}",
        },
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-protobuf"
    status = status_pb2.Status()
    status.ParseFromString(response.content)
    assert status.code == 3
    assert "ExportTraceServiceRequest" in status.message


def test_partial_success_counts_the_spans_it_cannot_use(
    client: TestClient, workspace_token: str
) -> None:
    body = otlp_json(
        json_span("00000000000000d1", **ORDER_CALL),
        json_span("00000000000000d2", kind=2, **ORDER_CALL),  # SERVER
        json_span("00000000000000d3", peer__service="crm", http__response__status_code=200),
        json_span("00000000000000d4", peer__service="erp", http__response__status_code=200),
        json_span("not-an-id", **ORDER_CALL),
    )
    response = _post(client, body, Authorization=f"Bearer {workspace_token}")
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 4
    message = partial["errorMessage"]
    assert "not of kind CLIENT" in message
    assert "'crm'" in message
    assert "ambiguous" in message
    assert "order, stock" in message
    assert "invalid trace or span id" in message
    assert len(_events(client)) == 1


def test_protobuf_partial_success(client: TestClient, workspace_token: str) -> None:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    attribute = resource_spans.resource.attributes.add()
    attribute.key, attribute.value.string_value = "service.name", "unknown-service"
    span = resource_spans.scope_spans.add().spans.add()
    span.trace_id, span.span_id = bytes.fromhex(TRACE_HEX), bytes.fromhex("00000000000000e1")
    span.kind = span.SPAN_KIND_CLIENT
    span.start_time_unix_nano, span.end_time_unix_nano = START_NS, START_NS + 1
    response = client.post(
        "/v1/traces",
        content=request.SerializeToString(),
        headers={
            "Content-Type": "application/x-protobuf",
            "Authorization": f"Bearer {workspace_token}",
        },
    )
    assert response.status_code == 200
    answer = ExportTraceServiceResponse()
    answer.ParseFromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "unknown-service" in answer.partial_success.error_message


def test_flow_rules_aliases_and_ref_attributes(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(
        otlp_system_aliases={"baselinker-sync": "oms", "api.erp.example.com": "erp"},
        otlp_flow_rules={"oms->erp": "order"},
        otlp_ref_attributes={"erp.document": "{target}", "sku": "sku"},
    )
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        prepare_workspace(c)
        body = otlp_json(
            json_span(
                "00000000000000f1",
                server__address="api.erp.example.com",
                http__response__status_code=422,
                erp__document="ZK/123/2026",
                arbiter__ref__shop="100045",
            ),
            service="baselinker-sync",
        )
        assert _post(c, body, **{"X-Arbiter-Workspace": "acme"}).json() == {}
        (event,) = _events(c)
    assert (event["system"], event["target"], event["flow"]) == ("oms", "erp", "order")
    assert event["refs"] == {"erp": "ZK/123/2026", "shop": "100045"}
    assert event["outcome"]["status"] == 422


def test_body_size_limit(settings_factory: Callable[..., Settings]) -> None:
    settings = settings_factory(otlp_ingest_max_body_bytes=2048)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as c:
        token = prepare_workspace(c)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        spans = [json_span(f"{n:016x}", **ORDER_CALL) for n in range(1, 40)]
        big = json.dumps(otlp_json(*spans)).encode()
        assert len(big) > 2048
        too_large = c.post("/v1/traces", content=big, headers=auth)
        assert too_large.status_code == 413
        # Small as sent, too large once inflated: a gzip bomb is stopped too.
        bomb = gzip.compress(b" " * 100_000 + big)
        assert len(bomb) < 2048
        inflated = c.post("/v1/traces", content=bomb, headers={**auth, "Content-Encoding": "gzip"})
        assert inflated.status_code == 413
        assert _events(c) == []


def test_unsupported_content_type_and_encoding(client: TestClient, workspace_token: str) -> None:
    auth = {"Authorization": f"Bearer {workspace_token}"}
    assert (
        client.post(
            "/v1/traces", content=b"x", headers={**auth, "Content-Type": "text/plain"}
        ).status_code
        == 415
    )
    brotli = {**auth, "Content-Type": "application/json", "Content-Encoding": "br"}
    assert client.post("/v1/traces", content=b"x", headers=brotli).status_code == 415


def test_workspace_without_topology_is_a_conflict(client: TestClient) -> None:
    assert client.put("/api/v1/workspaces/bare", json={}).status_code == 201
    body = otlp_json(json_span("00000000000000a9", **ORDER_CALL))
    response = _post(client, body, **{"X-Arbiter-Workspace": "bare"})
    assert response.status_code == 409
    assert "topology" in response.json()["message"]


@pytest.mark.parametrize("empty", [{}, {"resourceSpans": []}])
def test_an_empty_request_is_fine(client: TestClient, workspace_token: str, empty: Any) -> None:
    response = _post(client, empty, Authorization=f"Bearer {workspace_token}")
    assert response.status_code == 200
    assert response.json() == {}
