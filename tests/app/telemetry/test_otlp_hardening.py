"""OTLP ingest stores a request whole or not at all, and answers bad input 4xx."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.app.telemetry.test_otlp_ingest import ORDER_CALL, json_span, otlp_json


def _post(client: TestClient, body: bytes | str, token: str) -> object:
    return client.post(
        "/v1/traces",
        content=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )


def test_a_bad_last_span_stores_nothing(client: TestClient, workspace_token: str) -> None:
    # Over the events API's batch size, with a NUL in the very last span's ref: before, every
    # chunk but the last was committed on its own.
    spans = [json_span(f"{i:016x}", **ORDER_CALL) for i in range(1, 10_002)]
    spans[-1]["attributes"].append({"key": "arbiter.ref.oms", "value": {"stringValue": "77\x0089"}})
    response = _post(client, json.dumps(otlp_json(*spans)), workspace_token)
    assert 400 <= response.status_code < 500, response.text  # type: ignore[attr-defined]
    events = client.get("/api/v1/workspaces/acme/events", params={"limit": 5}).json()["events"]
    assert events == []


def test_a_large_good_request_is_stored_whole(client: TestClient, workspace_token: str) -> None:
    spans = [json_span(f"{i:016x}", **ORDER_CALL) for i in range(1, 10_102)]
    response = _post(client, json.dumps(otlp_json(*spans)), workspace_token)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    stored = client.get("/api/v1/workspaces/acme/events", params={"limit": 1000})
    assert len(stored.json()["events"]) == 1000
    assert stored.json()["next_cursor"] is not None


def test_nesting_deeper_than_the_parser_is_400(client: TestClient, workspace_token: str) -> None:
    deep = '{"resourceSpans": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = _post(client, deep, workspace_token)
    assert response.status_code == 400, response.text  # type: ignore[attr-defined]
    nested = json.dumps(otlp_json(json_span("00000000000000aa", **ORDER_CALL)))
    value = '{"kvlistValue": {"values": [{"key": "k", "value": ' * 400
    value += '{"stringValue": "x"}' + "}]}}" * 400
    nested = nested.replace(
        '"attributes": [', f'"attributes": [{{"key": "deep", "value": {value}}}, ', 1
    )
    response = _post(client, nested, workspace_token)
    assert 400 <= response.status_code < 500, response.text  # type: ignore[attr-defined]
