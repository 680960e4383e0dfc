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


def _connected(client: TestClient) -> Any:
    """The demo topology with the shop's connection; the service's runtime."""
    client.put(BASE, json={"name": "ACME"}).raise_for_status()
    client.put(f"{BASE}/topology", json=demo_topology()).raise_for_status()
    shop = sandbox_connections(8100, webhook_secret="whsec-1", poll_interval_seconds=60)["shop"]
    client.put(f"{BASE}/systems/shop/connection", json=shop).raise_for_status()
    return client.app.state.runtime  # type: ignore[attr-defined]


def test_a_disabled_webhook_reaches_the_warnings(client: TestClient) -> None:
    runtime = _connected(client)
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


class _Platform:
    kind = "magento"

    def __init__(self, health: dict[str, Any]) -> None:
        self.health = health

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        return PollResult(events=[], cursor={}, health=self.health)


def test_the_shops_own_report_is_shown_in_the_connections_status(client: TestClient) -> None:
    runtime = _connected(client)
    platform = {"cron": None, "indexers": None, "modules": 16, "msi": True, "extensions": []}

    def shown() -> Any:
        with runtime.engine.connect() as connection:
            target = load_target(connection, runtime.secrets, "acme", "shop")
        client.portal.call(poll_once, runtime, target, reporting)  # type: ignore[union-attr]
        status = client.get(f"{BASE}/systems/shop/connection").json()["status"]
        return status.get("health")

    reporting = _Platform({"platform": platform})
    assert shown() == {"platform": platform}
    reporting = _Platform({})  # a round that did not read it again (every few minutes)
    assert shown() == {"platform": platform}
