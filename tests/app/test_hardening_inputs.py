"""Malformed input is a 4xx naming the field, never a 5xx, on both backends."""

from __future__ import annotations

import base64
import json

import pytest
from fastapi.testclient import TestClient

from tests.app.dashboard.conftest import sign_in

WS = "/api/v1/workspaces/acme"
EXTREMES = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1900-01-01T00:00:00Z"]


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode()


def _named(response: object, loc: list[str]) -> None:
    assert response.status_code == 422, response.text  # type: ignore[attr-defined]
    locs = [item["loc"] for item in response.json()["detail"]]  # type: ignore[attr-defined]
    assert loc in locs, locs


@pytest.mark.parametrize("moment", EXTREMES)
def test_times_at_the_ends_of_the_calendar(client: TestClient, workspace: str, moment: str) -> None:
    for route, name in [
        ("/events", "since"),
        ("/events", "until"),
        ("/diagnosis", "as_of"),
        ("/warnings", "as_of"),
        ("/reports/sla", "since"),
        ("/reports/sla", "until"),
        ("/incidents", "since"),
        ("/incidents", "until"),
    ]:
        _named(client.get(WS + route, params={name: moment}), ["query", name])
    _named(client.get(WS + "/events", params={"cursor": _cursor(moment, 1)}), ["query", "cursor"])


def test_ids_above_64_bits(client: TestClient, workspace: str) -> None:
    huge = str(2**63)
    _named(client.get(f"{WS}/incidents/{huge}"), ["path", "incident_id"])
    _named(client.post(f"{WS}/incidents/{huge}/acknowledge"), ["path", "incident_id"])
    _named(client.post(f"{WS}/incidents/{huge}/notes", json={"text": "x"}), ["path", "incident_id"])
    forged = base64.urlsafe_b64encode(f"i{2**64}".encode()).decode().rstrip("=")
    _named(client.get(f"{WS}/incidents", params={"cursor": forged}), ["query", "cursor"])
    _named(
        client.get(f"{WS}/events", params={"cursor": _cursor("2026-11-25T10:00:00+00:00", 2**64)}),
        ["query", "cursor"],
    )


def test_nul_characters(client: TestClient, workspace: str) -> None:
    _named(client.get(f"{WS}/events", params={"ref": "shop:1\x002"}), ["query", "ref"])
    _named(client.post(f"{WS}/tokens", json={"name": "a\x00b"}), ["body", "name"])
    _named(client.put(WS, json={"name": "a\x00b"}), ["body", "name"])
    _named(client.get(f"{WS}/traces/shop/1%002"), ["path"])
    event = {
        "id": "e\x00",
        "time": "2026-11-25T10:00:00Z",
        "flow": "order",
        "kind": "seen",
        "system": "shop",
        "refs": {"shop": "1"},
    }
    _named(client.post(f"{WS}/events", json={"events": [event]}), ["body", "events", 0, "id"])
    assert sign_in(client).status_code == 200
    for params in ({"q": "10\x0045"}, {"ns": "shop", "id": "1\x00"}):
        response = client.get("/w/acme/trace", params=params)
        assert 400 <= response.status_code < 500, response.text[:300]
