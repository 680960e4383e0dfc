"""What a connector reports of the shop's own health reaches the warnings through the poller:
a webhook WooCommerce disabled is warned at once, naming its topic."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.connections.poller import poll_once
from app.connections.service import load_target
from app.demo import sandbox_connections
from connectors.base import PollResult
from sandbox.topology import demo_topology

BASE = "/api/v1/workspaces/acme"
DISABLED = {"id": 7, "topic": "order.updated", "name": "ERP", "delivery": "https://erp.test/h"}


class _Reporting:
    kind = "woocommerce"

    def __init__(self, disabled: list[dict[str, Any]]) -> None:
        self.disabled = disabled

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        health = {"webhook_disabled": bool(self.disabled), "webhooks_disabled": self.disabled}
        return PollResult(events=[], cursor={}, health=health)


def test_a_disabled_webhook_reaches_the_warnings(client: TestClient) -> None:
    client.put(BASE, json={"name": "ACME"}).raise_for_status()
    client.put(f"{BASE}/topology", json=demo_topology()).raise_for_status()
    shop = sandbox_connections(8100, webhook_secret="whsec-1", poll_interval_seconds=60)["shop"]
    client.put(f"{BASE}/systems/shop/connection", json=shop).raise_for_status()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        target = load_target(connection, runtime.secrets, "acme", "shop")

    def warned() -> list[str]:
        found = client.get(f"{BASE}/warnings").json()["warnings"]
        return [w["message"] for w in found if w["kind"] == "webhook_disabled"]

    client.portal.call(poll_once, runtime, target, _Reporting([DISABLED]))  # type: ignore[union-attr]
    assert warned() == [
        "shop disabled its webhook for order.updated after failed deliveries: "
        "no more pushes of it arrive"
    ]
    client.portal.call(poll_once, runtime, target, _Reporting([]))  # type: ignore[union-attr]
    assert warned() == []
