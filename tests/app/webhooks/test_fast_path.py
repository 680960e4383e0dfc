"""The webhook fast path in front of the whole app: what it answers itself (a delivery to a
receiver built before), and what it leaves to the route (everything else, and a store that
failed), so that every refusal and error still comes from the route."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.connections.tables import webhook_deliveries
from app.main import Arbiter
from app.webhooks import fast
from app.webhooks.service import cached_receiver, store_deliveries, verify
from connectors.webhooks import sign_standard_webhook
from tests.app.conftest import topology
from tests.app.webhooks.test_webhooks import RECEIVER, _connect_shop, _order, _woo_headers

MW_SECRET = "whsec_c2VjcmV0LWtleS1mb3Itd21zLXdlYmhvb2tzIQ=="


class _Framework:
    """Counts the webhook requests that reach the app behind the fast path (FastAPI and its
    whole stack)."""

    def __init__(self, app: Arbiter) -> None:
        assert isinstance(app.front, fast.WebhookFastPath)
        self.front = app.front
        self.inner = app.front.app
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            self.calls += 1
        await self.inner(scope, receive, send)


@pytest.fixture
def framework(client: TestClient) -> Iterator[_Framework]:
    counter = _Framework(client.app)  # type: ignore[arg-type]
    counter.front.app = counter
    yield counter
    counter.front.app = counter.inner


def _order_numbered(number: int) -> bytes:
    order = json.loads(_order())
    order.update(id=number, number=str(number))
    return json.dumps(order).encode()


def test_a_delivery_to_a_built_receiver_is_answered_before_the_framework(
    client: TestClient, workspace: str, framework: _Framework
) -> None:
    _connect_shop(client)
    first = _order()
    assert client.post(RECEIVER, content=first, headers=_woo_headers(first)).status_code == 200
    assert framework.calls == 1  # the route built the receiver
    second = _order_numbered(4242)
    answer = client.post(RECEIVER, content=second, headers=_woo_headers(second, "9002"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"status": "ok", "delivery_id": "9002", "duplicate": False}
    assert framework.calls == 1  # answered in front of FastAPI's and Starlette's layers
    # What it does not answer goes on, with its body, and is answered by the route.
    forged = client.post(RECEIVER, content=second, headers=_woo_headers(second, secret="x"))
    assert forged.status_code == 401
    bad = b"[not json"
    assert client.post(RECEIVER, content=bad, headers=_woo_headers(bad)).status_code == 422
    assert framework.calls == 3
    metrics = client.get("/metrics").text
    assert 'route="/webhooks/{ws}/{system}"' in metrics


def test_a_store_that_fails_on_the_fast_path_is_taken_by_the_route(
    client: TestClient, workspace: str, framework: _Framework, monkeypatch: pytest.MonkeyPatch
) -> None:
    _connect_shop(client)
    first = _order()
    assert client.post(RECEIVER, content=first, headers=_woo_headers(first)).status_code == 200

    async def failing(*_args: object) -> None:
        raise RuntimeError("the store went away")

    monkeypatch.setattr(fast, "deliver", failing)
    second = _order_numbered(4343)
    answer = client.post(RECEIVER, content=second, headers=_woo_headers(second, "9003"))
    assert answer.status_code == 200, answer.text
    assert answer.json()["duplicate"] is False
    assert framework.calls == 2  # the route stored and answered it
    page = client.get("/api/v1/workspaces/acme/events", params={"flow": "order"}).json()
    assert sorted(e["refs"]["shop"] for e in page["events"] if e["system"] == "shop") == [
        "100045",
        "4343",
    ]


def _standard(body: bytes, message: str) -> dict[str, str]:
    now = int(time.time())
    return {
        "Content-Type": "application/json",
        "webhook-id": message,
        "webhook-timestamp": str(now),
        "webhook-signature": sign_standard_webhook(MW_SECRET, message, now, body),
    }


def test_dropped_events_are_reported_by_the_fast_path_too(
    client: TestClient, workspace: str, framework: _Framework
) -> None:
    topo = topology()
    topo["systems"].append({"id": "mw", "kind": "generic", "vendor": "Middleware"})
    assert client.put("/api/v1/workspaces/acme/topology", json=topo).status_code == 200
    client.put(
        "/api/v1/workspaces/acme/systems/mw/connection", json={"webhook_secret": MW_SECRET}
    ).raise_for_status()
    seen = {
        "kind": "seen",
        "flow": "order",
        "system": "mw",
        "time": "2026-11-30T10:00:00Z",
        "refs": {"shop": "1"},
        "state": "processing",
    }
    answers = []
    for n in range(2):
        good = {**seen, "id": f"good-{n}"}
        bad = {**seen, "id": f"bad-{n}", "flow": "returns"}
        body = json.dumps({"events": [good, bad]}).encode()
        answer = client.post("/webhooks/acme/mw", content=body, headers=_standard(body, f"m{n}"))
        assert answer.status_code == 200, answer.text
        answers.append(answer.json())
    assert framework.calls == 1  # the second was answered by the fast path
    for n, answer in enumerate(answers):
        (dropped,) = answer["dropped"]
        assert f"'bad-{n}'" in dropped
        assert "'returns' is not a flow" in dropped
    ids = sorted(e["id"] for e in client.get("/api/v1/workspaces/acme/events").json()["events"])
    assert ids == ["good-0", "good-1"]
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(webhook_deliveries).order_by("seq")).all()
    assert [row.delivery_id for row in rows] == ["m0", "m1"]
    assert all(row.processed_at is not None and "'returns'" in row.error for row in rows)


def test_one_group_stores_an_event_of_two_deliveries_once(
    client: TestClient, workspace: str
) -> None:
    _connect_shop(client)
    first = _order()
    assert client.post(RECEIVER, content=first, headers=_woo_headers(first)).status_code == 200
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    receiver = cached_receiver(runtime, "acme", "shop")
    assert receiver is not None
    # Two deliveries (two ids) of the same order, and a redelivery of the first, in one group.
    body = _order_numbered(5151)
    deliveries = [
        verify(runtime, receiver, {k.lower(): v for k, v in _woo_headers(body, d).items()}, body)
        for d in ("a", "b", "a")
    ]
    assert all(d is not None for d in deliveries)
    answers = runtime.writer.run(
        lambda connection: store_deliveries(connection, [d for d in deliveries if d])
    )
    assert [len(a.stored) for a in answers] == [1, 0, 0]
    assert [a.seq is None for a in answers] == [False, False, True]  # the third: a duplicate
    assert not any(a.stale for a in answers)
