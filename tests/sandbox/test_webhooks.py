"""The shop's webhooks: WooCommerce's headers, signature, ping, and disabling after failures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest

from tests.sandbox.conftest import FakeArbiter, RunSandbox, eventually

pytestmark = pytest.mark.asyncio
SECRET = "whsec-sandbox-test"


def _deliveries(arbiter: FakeArbiter, topic: str) -> list[tuple[dict[str, str], bytes]]:
    return [(h, b) for h, b in arbiter.webhooks if h.get("x-wc-webhook-topic") == topic]


def _pings(arbiter: FakeArbiter) -> list[bytes]:
    return [body for headers, body in arbiter.webhooks if "x-wc-webhook-topic" not in headers]


async def test_signed_deliveries_and_ping(run_sandbox: RunSandbox, arbiter: FakeArbiter) -> None:
    hook_url = f"{arbiter.url}/webhooks/demo/shop"
    async with (
        run_sandbox(webhook_url=hook_url, webhook_secret=SECRET) as sandbox,
        httpx.AsyncClient() as client,
    ):
        control = sandbox.world.url("control")
        pings = await eventually(lambda: _pings(arbiter) if len(_pings(arbiter)) == 3 else None)
        assert sorted(pings) == [b"webhook_id=1", b"webhook_id=2", b"webhook_id=3"]
        await client.post(f"{control}/orders", json={"lines": [{"sku": "ABC-2", "quantity": 1}]})
        await client.post(f"{control}/stock", json={"sku": "ABC-2", "quantity": 1})
        (headers, body), *_ = await eventually(lambda: _deliveries(arbiter, "order.created"))
        product_hooks = await eventually(lambda: _deliveries(arbiter, "product.updated"))

    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert headers["x-wc-webhook-signature"] == expected
    assert headers["x-wc-webhook-resource"] == "order"
    assert headers["x-wc-webhook-event"] == "created"
    assert headers["x-wc-webhook-id"] == "1"
    assert headers["x-wc-webhook-delivery-id"].isdigit()
    assert headers["x-wc-webhook-source"] == sandbox.world.url("shop") + "/"
    order: dict[str, Any] = json.loads(body)
    assert order["number"] == "1001"
    assert order["line_items"][0]["sku"] == "ABC-2"
    product = json.loads(product_hooks[0][1])
    assert product["sku"] == "ABC-2"
    assert product["stock_quantity"] == 1


async def test_webhook_disabled_after_seventh_consecutive_failure(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    arbiter.webhook_status = 500
    hook_url = f"{arbiter.url}/webhooks/demo/shop"
    async with (
        run_sandbox(webhook_url=hook_url, webhook_secret=SECRET) as sandbox,
        httpx.AsyncClient() as client,
    ):
        control = sandbox.world.url("control")
        for _ in range(9):
            await client.post(f"{control}/orders", json={})
        await eventually(
            lambda: sandbox.world.webhooks and sandbox.world.webhooks.hooks[0].status == "disabled"
        )
        await eventually(
            lambda: len(sandbox.world.webhooks.deliveries) >= 7 if sandbox.world.webhooks else False
        )
        state = (await client.get(f"{control}/state")).json()["webhooks"]["hooks"]
        assert state[0]["topic"] == "order.created"
        assert state[0]["status"] == "disabled"
        assert state[0]["failure_count"] == 7
        assert state[1]["status"] == "active"
        assert len(_deliveries(arbiter, "order.created")) == 7
        reset = await client.post(f"{control}/webhooks/reset")
        assert reset.json()["hooks"][0]["status"] == "active"
