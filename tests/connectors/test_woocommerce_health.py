"""WooCommerce's own health after a poll round: webhooks it disabled (named by topic, warned
at once), versions and WP-Cron from system_status; read every five minutes, never the round's
error, and not read when the shop does not answer."""

from __future__ import annotations

from typing import Any

import pytest
import respx

from app.warnings.rules import connector_warnings
from connectors.base import Unavailable
from connectors.woocommerce import WooCommerceConnector
from tests.connectors.conftest import Clock, FakeWoo

pytestmark = pytest.mark.asyncio

BASE = "https://shop.example.com"
API = f"{BASE}/wp-json/wc/v3"
CREDS = {"consumer_key": "ck_test", "consumer_secret": "cs_test"}

HOOKS = [
    {"id": 1, "name": "Arbiter order.created", "status": "active", "topic": "order.created",
     "delivery_url": "https://arbiter.example/webhooks/acme/shop"},
    {"id": 2, "name": "ERP sync", "status": "disabled", "topic": "order.updated",
     "delivery_url": "https://erp.example/hook?token=s3cret"},
]  # fmt: skip
STATUS = {
    "environment": {"version": "9.4.2", "wp_version": "6.7.1", "wp_cron": False},
    "active_plugins": [{"plugin": "woocommerce/woocommerce.php", "version": "9.4.2"}],
}


@pytest.fixture
def router() -> respx.Router:
    # Own routes only: the shared fixture answers the health endpoints with nothing.
    return respx.Router(assert_all_mocked=True, assert_all_called=False)


def _shop(router: respx.Router, woo: FakeWoo) -> tuple[respx.Route, respx.Route]:
    router.get(f"{API}/orders").mock(side_effect=woo.handle)
    router.get(f"{API}/products").mock(side_effect=woo.handle)
    hooks = router.get(f"{API}/webhooks").respond(200, json=HOOKS)
    status = router.get(f"{API}/system_status").respond(200, json=STATUS)
    return hooks, status


def _make(deps: dict[str, Any]) -> WooCommerceConnector:
    return WooCommerceConnector(system_id="shop", base_url=BASE, credentials=CREDS, **deps)


async def test_a_disabled_webhook_is_warned_at_once_by_topic(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any], clock: Clock
) -> None:
    _shop(router, woo)
    result = await _make(deps).poll(None)

    assert result.health["webhook_disabled"] is True
    (hook,) = result.health["webhooks_disabled"]
    # Where it delivers, without the query string's token.
    assert hook == {
        "id": 2,
        "topic": "order.updated",
        "name": "ERP sync",
        "delivery": "https://erp.example/hook",
    }
    assert result.health["platform"] == {
        "woocommerce": "9.4.2",
        "wordpress": "6.7.1",
        "wp_cron": False,
        "plugins": {"woocommerce/woocommerce.php": "9.4.2"},
    }
    assert any("WP-Cron is disabled" in note for note in result.notes)
    assert "s3cret" not in str(result.health)
    # The health reads are Arbiter's calls like the others: evidence about the shop.
    paths = [e.data["request"] for e in result.events if e.kind == "call" and e.data]
    assert any("webhooks" in p for p in paths)
    assert any("system_status" in p for p in paths)

    (warning,) = [
        w
        for w in connector_warnings("shop", result.health, as_of=clock(), silence_factor=3)
        if w.kind == "webhook_disabled"
    ]
    assert warning.severity == "critical"
    assert warning.message == (
        "shop disabled its webhook for order.updated after failed deliveries: "
        "no more pushes of it arrive"
    )


async def test_health_is_read_every_five_minutes(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any], clock: Clock
) -> None:
    hooks, status = _shop(router, woo)
    connector = _make(deps)
    first = await connector.poll(None)
    clock.advance(60)
    second = await connector.poll(first.cursor)
    assert (hooks.call_count, status.call_count) == (1, 1)
    assert second.health == {}  # nothing new: the status keeps the last report
    clock.advance(300)
    third = await connector.poll(second.cursor)
    assert (hooks.call_count, status.call_count) == (2, 2)
    assert third.health["webhook_disabled"] is True


async def test_a_health_read_refused_is_a_note_not_the_rounds_error(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any]
) -> None:
    router.get(f"{API}/orders").mock(side_effect=woo.handle)
    router.get(f"{API}/products").mock(side_effect=woo.handle)
    router.get(f"{API}/webhooks").respond(
        403,
        json={"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list "
              "resources.", "data": {"status": 403}},
    )  # fmt: skip
    router.get(f"{API}/system_status").respond(200, json=STATUS)
    result = await _make(deps).poll(None)
    assert "webhook_disabled" not in result.health
    assert result.health["platform"]["woocommerce"] == "9.4.2"
    assert any(n.startswith("health: webhooks not readable: permission") for n in result.notes)


async def test_a_shop_that_does_not_answer_is_not_read_for_health(
    router: respx.Router, deps: dict[str, Any]
) -> None:
    router.get(f"{API}/orders").respond(503)
    router.get(f"{API}/products").respond(503)
    hooks = router.get(f"{API}/webhooks").respond(200, json=HOOKS)
    with pytest.raises(Unavailable):
        await _make(deps).poll(None)
    assert hooks.call_count == 0
