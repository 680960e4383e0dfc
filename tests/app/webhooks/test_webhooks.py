from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from connectors.webhooks import sign_standard_webhook, sign_woocommerce
from tests.app.conftest import WOO_SHOP, connect, topology
from tests.paths import FIXTURES

SECRET = "wc-webhook-secret"
RECEIVER = "/webhooks/acme/shop"


def _order() -> bytes:
    order = json.loads((FIXTURES / "woocommerce" / "webhook_order_updated.json").read_text())
    return json.dumps(order).encode()


def _woo_headers(body: bytes, delivery: str = "9001", secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": sign_woocommerce(body, secret),
    }


def _connect_shop(client: TestClient, secret: str = SECRET, status: int = 201) -> None:
    response = connect(client, "shop", **WOO_SHOP, webhook_secret=secret)
    assert response.status_code == status, response.text


@pytest.fixture
def shop(client: TestClient, workspace: str) -> None:
    """The workspace 'acme' with its WooCommerce shop connected (webhook secret ``SECRET``)."""
    _connect_shop(client)


def _shop_events(client: TestClient) -> list[dict[str, object]]:
    page = client.get("/api/v1/workspaces/acme/events", params={"flow": "order"}).json()
    return [e for e in page["events"] if e["system"] == "shop"]


def test_signed_delivery_is_stored_then_processed(client: TestClient, shop: None) -> None:
    body = _order()
    response = client.post(RECEIVER, content=body, headers=_woo_headers(body), auth=None)
    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False
    events = _shop_events(client)
    assert len(events) == 1
    assert events[0]["kind"] == "seen"
    # A redelivery (same delivery id) is a duplicate and stores nothing new.
    again = client.post(RECEIVER, content=body, headers=_woo_headers(body))
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert len(_shop_events(client)) == 1


def test_bad_or_missing_signature_is_401_and_stores_nothing(client: TestClient, shop: None) -> None:
    body = _order()
    forged = _woo_headers(body, secret="not-the-secret")
    assert client.post(RECEIVER, content=body, headers=forged).status_code == 401
    unsigned = {k: v for k, v in _woo_headers(body).items() if k != "X-WC-Webhook-Signature"}
    assert client.post(RECEIVER, content=body, headers=unsigned).status_code == 401
    tampered = body.replace(b'"', b"'", 1)
    assert client.post(RECEIVER, content=tampered, headers=_woo_headers(body)).status_code == 401
    assert _shop_events(client) == []


def test_woocommerce_ping_is_exactly_200(client: TestClient, shop: None) -> None:
    response = client.post(
        RECEIVER,
        content=b"webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert _shop_events(client) == []


def test_signed_but_malformed_is_422(client: TestClient, shop: None) -> None:
    body = b"[not json"
    assert client.post(RECEIVER, content=body, headers=_woo_headers(body)).status_code == 422


def test_unknown_targets_and_bad_signatures_answer_alike(
    client: TestClient, workspace: str
) -> None:
    # No workspace, no system, no connection, a bad signature: one status and one body, so a
    # caller without the secret cannot map which workspaces and systems exist, nor their kind.
    body = _order()
    answers = [
        client.post(RECEIVER, content=body, headers=_woo_headers(body)),  # no connection
        client.post("/webhooks/nope/shop", content=body, headers=_woo_headers(body)),
        client.post("/webhooks/acme/wms", content=body, headers=_woo_headers(body)),
    ]
    _connect_shop(client)
    forged = _woo_headers(body, secret="not-the-secret")
    answers.append(client.post(RECEIVER, content=body, headers=forged))
    assert {(a.status_code, a.content) for a in answers} == {
        (answers[0].status_code, answers[0].content)
    }
    assert answers[0].status_code == 401
    assert b"woocommerce" not in answers[0].content


def test_signed_but_nested_too_deep_is_422(client: TestClient, shop: None) -> None:
    body = b'{"id": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post(RECEIVER, content=body, headers=_woo_headers(body))
    assert response.status_code == 422, response.text


def test_standard_webhooks_for_a_generic_system(client: TestClient) -> None:
    body_topology = topology()
    body_topology["systems"].append({"id": "wms", "kind": "generic", "vendor": "WMS vendor"})
    client.put("/api/v1/workspaces/acme")
    client.put("/api/v1/workspaces/acme/topology", json=body_topology).raise_for_status()
    secret = "whsec_" + "c2VjcmV0LWtleS1mb3Itd21zLXdlYmhvb2tzIQ=="
    created = connect(client, "wms", webhook_secret=secret)
    assert created.status_code == 201, created.text
    assert created.json()["polling"] is False
    event = {
        "id": "wms-1",
        "time": "2026-11-25T10:00:00Z",
        "flow": "stock",
        "kind": "seen",
        "system": "wms",
        "refs": {"sku": "ABC-1"},
        "quantity": 4,
    }
    body = json.dumps(event).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign_standard_webhook(secret, "msg_1", now, body),
        "Content-Type": "application/json",
    }
    assert client.post("/webhooks/acme/wms", content=body, headers=headers).status_code == 200
    stale = {
        **headers,
        "webhook-timestamp": str(now - 600),
        "webhook-signature": sign_standard_webhook(secret, "msg_1", now - 600, body),
    }
    assert client.post("/webhooks/acme/wms", content=body, headers=stale).status_code == 401
    # Nested under the JSON parser's limit: stored without the event, which says why; over it:
    # a 422 from the parser. Never a 500.
    answers = {}
    for depth in (150, 5000):
        nested = f'"data": {{"x": {"[" * depth}{"]" * depth}}}, "quantity"'
        deep = json.dumps(event).replace('"quantity"', nested).encode()
        signed = {
            **headers,
            "webhook-id": f"msg_deep_{depth}",
            "webhook-signature": sign_standard_webhook(secret, f"msg_deep_{depth}", now, deep),
        }
        answers[depth] = client.post("/webhooks/acme/wms", content=deep, headers=signed)
    assert answers[150].status_code == 200
    assert "nested deeper than" in answers[150].json()["dropped"][0]
    assert answers[5000].status_code == 422
    assert "body is not JSON" in answers[5000].text
    stored = client.get("/api/v1/workspaces/acme/events", params={"ref": "sku:ABC-1"}).json()[
        "events"
    ]
    assert [e["id"] for e in stored] == ["wms-1"]


def test_polled_only_kinds_have_no_receiver(client: TestClient, workspace: str) -> None:
    odoo = {
        "base_url": "https://erp.example.com",
        "credentials": {"protocol": "json2", "api_key": "k"},
    }
    connect(client, "erp", **odoo, webhook_secret="s").raise_for_status()
    answer = client.post(
        "/webhooks/acme/erp", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 401  # the same answer as for no receiver at all
    assert b"odoo" not in answer.content


def test_a_delivery_left_unprocessed_by_a_crash_is_processed_later(
    client: TestClient, shop: None
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from app.connections.service import load_target
    from app.connections.tables import webhook_deliveries
    from app.webhooks.service import process_pending, record_delivery

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    body = _order()
    headers = {k.lower(): v for k, v in _woo_headers(body).items()}
    with runtime.engine.begin() as connection:  # stored, answered, then the process died
        target = load_target(connection, runtime.secrets, "acme", "shop")
        assert record_delivery(connection, target, "9001", headers, body) is not None
    assert _shop_events(client) == []
    assert process_pending(runtime, older_than=timedelta(0)) == 1
    assert len(_shop_events(client)) == 1
    assert process_pending(runtime, older_than=timedelta(0)) == 0
    with runtime.engine.connect() as connection:
        row = connection.execute(select(webhook_deliveries)).one()
    assert row.processed_at is not None
    assert row.error is None
    # The webhook's redelivery after the crash is still a duplicate.
    again = client.post(RECEIVER, content=body, headers=_woo_headers(body))
    assert again.json()["duplicate"] is True


def test_a_signed_poisoned_payload_never_poisons_the_workspace(
    client: TestClient, shop: None
) -> None:
    # A lone surrogate and a NUL in a signed order: the delivery is answered, the event that
    # cannot be stored is dropped with its reason, and every read still answers.
    order = json.loads(_order())
    order["number"] = "100\u0000045"
    order["billing"] = {**order.get("billing", {}), "first_name": "\udfff"}
    body = json.dumps(order).encode()
    response = client.post(RECEIVER, content=body, headers=_woo_headers(body))
    assert response.status_code < 500, response.text
    for route in ("events", "diagnosis", "warnings", "reports/sla"):
        read = client.get(f"/api/v1/workspaces/acme/{route}")
        assert read.status_code == 200, (route, read.text)
    assert all("\u0000" not in json.dumps(e) for e in _shop_events(client))


def test_deliveries_after_the_first_take_the_fast_path_and_a_new_secret_takes_effect_at_once(
    client: TestClient, shop: None
) -> None:
    from app.webhooks.service import cached_receiver

    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    first = _order()
    assert client.post(RECEIVER, content=first, headers=_woo_headers(first)).status_code == 200
    assert cached_receiver(runtime, "acme", "shop") is not None  # built by the route
    order = json.loads(first)
    order.update(id=4242, number="4242")
    second = json.dumps(order).encode()
    answer = client.post(RECEIVER, content=second, headers=_woo_headers(second, "9002"))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ok", "delivery_id": "9002", "duplicate": False}
    again = client.post(RECEIVER, content=second, headers=_woo_headers(second, "9002"))
    assert again.json()["duplicate"] is True
    assert len(_shop_events(client)) == 2
    # The secret is rotated: a delivery signed with the old one verifies against the receiver
    # built before, but is refused, since its commit finds the connection changed.
    _connect_shop(client, "rotated", status=200)
    order.update(id=4343, number="4343")
    third = json.dumps(order).encode()
    old = client.post(RECEIVER, content=third, headers=_woo_headers(third, "9003"))
    assert old.status_code == 401
    new = client.post(RECEIVER, content=third, headers=_woo_headers(third, "9003", "rotated"))
    assert new.status_code == 200
    assert len(_shop_events(client)) == 3
    # Refusals and errors after the receiver is built still come from the route.
    forged = client.post(RECEIVER, content=third, headers=_woo_headers(third, secret="x"))
    assert forged.status_code == 401
    bad = b"[not json"
    assert (
        client.post(RECEIVER, content=bad, headers=_woo_headers(bad, secret="rotated")).status_code
        == 422
    )
    nul = client.post(
        RECEIVER + "?x=%00", content=third, headers=_woo_headers(third, "9004", "rotated")
    )
    assert nul.status_code == 422


def test_concurrent_deliveries_are_stored_together(client: TestClient, shop: None) -> None:
    from concurrent.futures import ThreadPoolExecutor

    order = json.loads(_order())

    def deliver(n: int) -> dict[str, object]:
        order_n = {**order, "id": 5000 + n % 20, "number": str(5000 + n % 20)}
        body = json.dumps(order_n).encode()
        # 40 deliveries of 20 delivery ids: each id once new, once a duplicate.
        answer = client.post(RECEIVER, content=body, headers=_woo_headers(body, f"d{n % 20}"))
        assert answer.status_code == 200, answer.text
        result: dict[str, object] = answer.json()
        return result

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(deliver, range(40)))
    assert sum(not a["duplicate"] for a in answers) == 20
    assert len(_shop_events(client)) == 20
