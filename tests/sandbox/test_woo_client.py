"""Contract tests: the official ``woocommerce`` client (PyPI, by Automattic) drives the sandbox's
shop over a real socket, so the imitation cannot drift from what the real product answers.

Over plain http the client signs OAuth 1.0a itself (its own implementation, not ours); the
sandbox must accept that and refuse what WooCommerce refuses there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import requests
from woocommerce import API

from tests.sandbox.conftest import RunSandbox

pytestmark = pytest.mark.asyncio


def _api(url: str, key: str, secret: str) -> API:
    return API(url=url, consumer_key=key, consumer_secret=secret, version="wc/v3", timeout=10)


async def _call(fn: Callable[..., requests.Response], *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the sandbox serves on this event loop."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def test_official_client_calls_are_answered_as_woocommerce_answers(
    run_sandbox: RunSandbox,
) -> None:
    async with run_sandbox() as sandbox:
        world = sandbox.world
        woo = world.config.woo
        wc = _api(world.url("shop"), woo.consumer_key, woo.consumer_secret)

        orders = await _call(wc.get, "orders", params={"per_page": 5})
        assert orders.status_code == 200, orders.text
        placed = await _call(
            wc.post,
            "orders",
            {"status": "processing", "line_items": [{"sku": "ABC-1", "quantity": 1}]},
        )
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]

        note = await _call(wc.post, f"orders/{order_id}/notes", {"note": "Paid by transfer"})
        assert note.status_code == 201
        assert note.json()["note"] == "Paid by transfer"
        notes = await _call(wc.get, f"orders/{order_id}/notes")
        assert [n["note"] for n in notes.json()] == ["Paid by transfer"]

        refund = await _call(wc.post, f"orders/{order_id}/refunds", {"amount": "1.00"})
        assert refund.status_code == 201
        assert refund.json()["amount"] == "1.00"
        assert len((await _call(wc.get, f"orders/{order_id}/refunds")).json()) == 1

        variable = await _call(wc.get, "products", params={"type": "variable"})
        assert variable.status_code == 200
        parents = variable.json()
        assert parents
        assert all(p["type"] == "variable" for p in parents)
        variations = await _call(wc.get, f"products/{parents[0]['id']}/variations")
        assert variations.status_code == 200
        assert all(v["sku"] for v in variations.json())
        outs = await _call(wc.get, "products", params={"stock_status": "outofstock"})
        assert all(p["stock_status"] == "outofstock" for p in outs.json())

        assert (await _call(wc.get, "products/categories")).status_code == 200
        status = await _call(wc.get, "system_status")
        assert status.json()["environment"]["version"]
        index = await _call(wc.get, "")
        assert index.json()["namespace"] == "wc/v3"

        hook = await _call(
            wc.post,
            "webhooks",
            {"name": "Arbiter", "topic": "order.updated", "delivery_url": "http://127.0.0.1:9/x"},
        )
        assert hook.status_code == 201, hook.text
        assert hook.json()["topic"] == "order.updated"

        missing = await _call(wc.delete, "orders/999999", params={"force": True})
        assert missing.status_code == 404
        assert missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"


async def test_basic_auth_over_plain_http_is_refused(run_sandbox: RunSandbox) -> None:
    async with run_sandbox() as sandbox:
        world = sandbox.world
        woo = world.config.woo
        url = world.url("shop") + "/wp-json/wc/v3/orders"
        basic = await _call(requests.get, url, auth=(woo.consumer_key, woo.consumer_secret))
        assert basic.status_code == 401
        assert basic.json()["code"] == "woocommerce_rest_cannot_view"
        wrong = _api(world.url("shop"), woo.consumer_key, "cs_wrong")
        forged = await _call(wrong.get, "orders")
        assert forged.status_code == 401
        assert forged.json()["code"] == "woocommerce_rest_authentication_error"
