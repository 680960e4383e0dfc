from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.scenarios import CONTRACT_EVENTS

URL = "/api/v1/workspaces/acme/events"


def events() -> list[dict[str, Any]]:
    return copy.deepcopy(CONTRACT_EVENTS)


def stored(client: TestClient, **params: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = (
            dict(params, limit="2") if cursor is None else dict(params, limit="2", cursor=cursor)
        )
        page = client.get(URL, params=query)
        assert page.status_code == 200, page.text
        found += page.json()["events"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return found


def test_post_stores_and_reads_back(client: TestClient, workspace: str) -> None:
    response = client.post(URL, json={"events": events()})
    assert response.status_code == 202
    assert response.json() == {"accepted": 3, "duplicates": 0}
    # Time order: the stock event (09:15) comes first.
    assert [e["id"] for e in stored(client)] == [
        "erp-stock-ABC-1-0915",
        "shop-order-100045-created",
        "oms-call-7789-1",
    ]
    assert stored(client) == sorted(events(), key=lambda e: e["time"])


def test_repost_counts_duplicates_and_stores_nothing_twice(
    client: TestClient, workspace: str
) -> None:
    client.post(URL, json={"events": events()})
    again = client.post(URL, json={"events": events()})
    assert again.json() == {"accepted": 0, "duplicates": 3}
    changed = events()
    changed[0]["state"] = "completed"  # same id: the first version stands
    extra = {**changed[0], "id": "another"}
    mixed = client.post(URL, json={"events": [changed[0], extra, extra]})
    assert mixed.json() == {"accepted": 1, "duplicates": 2}
    assert len(stored(client)) == 4
    assert next(e for e in stored(client) if e["id"] == changed[0]["id"])["state"] == "processing"


def test_ndjson(client: TestClient, workspace: str) -> None:
    body = "\n".join(json.dumps(e) for e in events()) + "\n"
    response = client.post(URL, content=body, headers={"Content-Type": "application/x-ndjson"})
    assert response.status_code == 202
    assert response.json()["accepted"] == 3
    bad = '{"id": "x"}\n{not json\n'
    rejected = client.post(URL, content=bad, headers={"Content-Type": "application/x-ndjson"})
    assert rejected.status_code == 422
    assert "line 2" in str(rejected.json())


def test_filters(client: TestClient, workspace: str) -> None:
    client.post(URL, json={"events": events()})
    assert [e["id"] for e in stored(client, ref="shop:100045")] == [
        "shop-order-100045-created",
        "oms-call-7789-1",
    ]
    assert [e["id"] for e in stored(client, ref="oms:7789")] == ["oms-call-7789-1"]
    assert [e["id"] for e in stored(client, flow="stock")] == ["erp-stock-ABC-1-0915"]
    assert [
        e["id"] for e in stored(client, since="2026-11-25T10:00:00Z", until="2026-11-25T10:03:00Z")
    ] == ["shop-order-100045-created"]
    assert stored(client, ref="sku:nope") == []
    assert client.get(URL, params={"ref": "no-colon"}).status_code == 422
    assert client.get(URL, params={"since": "2026-11-25T10:00:00"}).status_code == 422
    assert client.get(URL, params={"cursor": "garbage"}).status_code == 422
    assert client.get(URL, params={"limit": "0"}).status_code == 422


def _bad(
    client: TestClient, body: Any, *, index: int | None, field: str, status: int = 422
) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == status, response.text
    text = json.dumps(response.json())
    assert field in text, text
    if index is not None:
        assert any(
            item["loc"][:3] == ["body", "events", index] for item in response.json()["detail"]
        ), text
    assert client.get(URL).json()["events"] == [], "a rejected batch must store nothing"


@pytest.mark.parametrize(
    ("index", "mutate", "field"),
    [
        # the batch's seen event
        (0, lambda e: e.update(time="2026-11-25T10:00:00"), "time"),
        (0, lambda e: e.update(time="yesterday"), "time"),
        (0, lambda e: e.pop("id"), "id"),
        (0, lambda e: e.update(id=""), "id"),
        (0, lambda e: e.update(id="x" * 201), "id"),
        (0, lambda e: e.update(flow="returns"), "flow"),
        (0, lambda e: e.update(system="wms"), "system"),
        (0, lambda e: e.update(kind="saw"), "kind"),
        (0, lambda e: e.update(refs={}), "refs"),
        (0, lambda e: e.update(refs={"shop": 100045}), "refs"),
        (0, lambda e: e.update(quantity="twelve"), "quantity"),
        (0, lambda e: e.update(quantiy=3), "quantiy"),
        (0, lambda e: e.update(data=[1, 2]), "data"),
        # the batch's call event
        (1, lambda e: e.pop("target"), "target"),
        (1, lambda e: e.pop("outcome"), "outcome"),
        (1, lambda e: e.update(target="wms"), "target"),
        (1, lambda e: e.update(outcome={"status": 999, "duration_ms": 1}), "status"),
        (1, lambda e: e.update(outcome={"status": 200, "duration_ms": -1}), "duration_ms"),
        (1, lambda e: e.update(outcome={"status": 200}), "duration_ms"),
    ],
)
def test_an_invalid_event_rejects_the_batch(
    client: TestClient, workspace: str, index: int, mutate: Any, field: str
) -> None:
    batch = events()
    mutate(batch[index])
    _bad(client, {"events": batch}, index=index, field=field)


def test_every_bad_event_is_named(client: TestClient, workspace: str) -> None:
    batch = events() * 2
    for i, event in enumerate(batch):
        event["id"] = f"e{i}"
    batch[1]["flow"] = "nope"
    batch[4]["time"] = "2026-11-25"
    response = client.post(URL, json={"events": batch})
    assert response.status_code == 422
    assert sorted({item["loc"][2] for item in response.json()["detail"]}) == [1, 4]


def test_call_without_refs_and_between_unlinked_systems_is_accepted(
    client: TestClient, workspace: str
) -> None:
    poll = {
        "id": "poll-1",
        "time": "2026-11-25T10:00:00Z",
        "flow": "order",
        "kind": "call",
        "system": "oms",
        "target": "shop",
        "outcome": {"status": 503, "duration_ms": 120},
    }
    probe = {
        "id": "probe-1",
        "time": "2026-11-25T10:00:00Z",
        "flow": "order",
        "kind": "call",
        "system": "arbiter",
        "target": "erp",
        "outcome": {"status": None, "duration_ms": 5000, "error": "connect timeout"},
    }
    unlinked = {**poll, "id": "x-1", "system": "shop", "target": "erp"}
    response = client.post(URL, json={"events": [poll, probe, unlinked]})
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": []}, "empty"),
        ({}, "events"),
        ([], "events"),
        ({"events": {"id": 1}}, "list"),
        ({"events": [], "extra": 1}, "extra"),
        ({"events": [1]}, "events"),
    ],
)
def test_malformed_envelope(client: TestClient, workspace: str, body: Any, field: str) -> None:
    _bad(client, body, index=None, field=field)


def test_invalid_json_and_constants(client: TestClient, workspace: str) -> None:
    for body in (b"{", b"", b'{"events": [{"id": "a", "quantity": NaN}]}', b"\xff\xfe"):
        response = client.post(URL, content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, body


def test_batch_limits_are_413(client: TestClient, workspace: str) -> None:
    template = events()[0]
    batch = [{**template, "id": f"e{i}"} for i in range(10_001)]
    response = client.post(URL, json={"events": batch})
    assert response.status_code == 413
    assert client.get(URL).json()["events"] == []
    exactly = client.post(URL, json={"events": batch[:10_000]})
    assert exactly.status_code == 202
    assert exactly.json()["accepted"] == 10_000


def test_body_size_limit_is_413(settings_factory: Any) -> None:
    from app.main import create_app
    from tests.conftest import ADMIN_TOKEN

    app = create_app(settings_factory(max_body_bytes=4096))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as small:
        small.put("/api/v1/workspaces/acme")
        big = {"events": [{**events()[0], "id": f"e{i}"} for i in range(100)]}
        assert small.post("/api/v1/workspaces/acme/events", json=big).status_code == 413

        def chunks() -> Any:  # no Content-Length: the limit still holds while streaming
            payload = json.dumps(big).encode()
            for start in range(0, len(payload), 1000):
                yield payload[start : start + 1000]

        streamed = small.post(
            "/api/v1/workspaces/acme/events",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413


def test_events_before_topology_is_409(client: TestClient) -> None:
    client.put("/api/v1/workspaces/acme")
    response = client.post(URL, json={"events": events()})
    assert response.status_code == 409
    assert "topology" in response.json()["detail"]
