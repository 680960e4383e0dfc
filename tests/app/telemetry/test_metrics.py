"""GET /metrics: Prometheus text with the ingest, diagnosis, connector and incident metrics."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from app.telemetry import metrics
from tests.app.telemetry.test_otlp_ingest import ORDER_CALL, json_span, otlp_json
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import CONTRACT_EVENTS


def _families(client: TestClient) -> dict[str, list[tuple[dict[str, str], float]]]:
    # Served to the admin token only (ARBITER_METRICS_PUBLIC unset): its series name workspaces.
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
    response = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(response.text)
    }


def test_metrics_after_some_ingest(client: TestClient, workspace_token: str) -> None:
    body = otlp_json(json_span("0000000000000101", **ORDER_CALL), json_span("0000000000000102"))
    client.post(
        "/v1/traces",
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {workspace_token}"},
    )
    client.post("/api/v1/workspaces/acme/events", json={"events": CONTRACT_EVENTS})
    client.get("/api/v1/workspaces/acme/diagnosis", params={"as_of": "2026-11-25T12:00:00Z"})
    metrics.record_connector_call("acme", "erp", 503)
    metrics.record_connector_call("acme", "erp", None)
    unregister = metrics.register_open_incidents(lambda: {"acme": 2})
    failing = metrics.register_open_incidents(lambda: 1 / 0)  # type: ignore[arg-type,return-value]
    try:
        families = _families(client)
    finally:
        unregister()
        failing()

    def value(family: str, **labels: str) -> float:
        return sum(v for found, v in families[family] if labels.items() <= found.items())

    assert value("arbiter_ingest_events", workspace="acme", source="otlp", result="accepted") >= 1
    assert value("arbiter_ingest_events", workspace="acme", source="otlp", result="rejected") >= 1
    assert value("arbiter_events_stored", workspace="acme") >= 4
    assert value("arbiter_connector_calls", workspace="acme", system="erp", status="5xx") >= 1
    assert value("arbiter_connector_calls", workspace="acme", system="erp", status="error") >= 1
    assert value("arbiter_open_incidents", workspace="acme") >= 2
    assert any(
        labels.get("source") == "api" and sample > 0
        for labels, sample in families["arbiter_diagnosis_duration_seconds"]
    )
    routes = {labels.get("route") for labels, _ in families["arbiter_http_requests"]}
    assert "/v1/traces" in routes
    assert "/api/v1/workspaces/{ws}/events" in routes
    assert not any(r and "acme" in r for r in routes)  # templates, never raw paths


def test_label_values_are_bounded() -> None:
    bounded = metrics._BoundedLabels(2)
    assert [bounded("system", s) for s in ("a", "b", "c", "a")] == ["a", "b", "other", "a"]


def test_connector_probe_events_count_as_connector_calls(
    client: TestClient, workspace_token: str
) -> None:
    probe = {
        "id": "arbiter-probe-erp-1",
        "time": "2026-11-25T10:05:00Z",
        "flow": "order",
        "kind": "call",
        "system": "arbiter",
        "target": "erp",
        "outcome": {"status": 429, "duration_ms": 12},
    }
    before = _families(client)["arbiter_connector_calls"]

    def rate_limited(samples: list[tuple[dict[str, str], float]]) -> float:
        return sum(
            v
            for labels, v in samples
            if labels.get("system") == "erp"
            and labels.get("status") == "429"
            and labels.get("workspace") == "acme"
        )

    response = client.post("/api/v1/workspaces/acme/events", json={"events": [probe]})
    assert response.status_code == 202
    client.post("/api/v1/workspaces/acme/events", json={"events": [probe]})  # a duplicate
    after = _families(client)["arbiter_connector_calls"]
    assert rate_limited(after) - rate_limited(before) == 1
