"""The BaseLinker imitation: one endpoint, HTTP-200 errors, the per-token rate limit."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from sandbox import timefmt
from sandbox.stores import BL_STATUS_IN_ERP, Line
from sandbox.world import World
from tests.sandbox.conftest import asgi, quiet_config

pytestmark = pytest.mark.asyncio


async def call(client: httpx.AsyncClient, method: str, **parameters: Any) -> dict[str, Any]:
    answer = await client.post(
        "/connector.php", data={"method": method, "parameters": json.dumps(parameters)}
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def _import(world: World, count: int, start: int = 0) -> None:
    moment = timefmt.now() - timedelta(minutes=30)
    for n in range(count):
        world.oms.import_order(
            shop_order_id=1001 + start + n,
            number=str(1001 + start + n),
            lines=[Line("ABC-1", "Mug", 2, Decimal("29.90"))],
            date_add=moment,
            email="b@example.com",
            currency="PLN",
            paid=True,
            moment=moment + timedelta(seconds=start + n),
        )


async def test_get_orders_shape(world: World, baselinker: httpx.AsyncClient) -> None:
    _import(world, 2)
    body = await call(baselinker, "getOrders", date_confirmed_from=0)
    assert body["status"] == "SUCCESS"
    order = body["orders"][0]
    assert order["order_id"] == 3001001
    assert order["shop_order_id"] == 1001
    assert order["external_order_id"] == "1001"
    assert order["order_source"] == "shop"
    assert isinstance(order["order_source_id"], int)
    assert isinstance(order["date_confirmed"], int)
    assert isinstance(order["date_add"], int)
    assert {"order_status_id", "date_in_status", "payment_done", "currency"} <= set(order)
    assert order["products"][0]["sku"] == "ABC-1"
    assert order["products"][0]["quantity"] == 2
    assert order["products"][0]["price_brutto"] == 29.9


async def test_get_orders_returns_100_at_most_by_date_confirmed(
    world: World, baselinker: httpx.AsyncClient
) -> None:
    _import(world, 130)
    first = (await call(baselinker, "getOrders", date_confirmed_from=0))["orders"]
    assert len(first) == 100
    assert [o["date_confirmed"] for o in first] == sorted(o["date_confirmed"] for o in first)
    rest = await call(baselinker, "getOrders", date_confirmed_from=first[-1]["date_confirmed"] + 1)
    assert len(rest["orders"]) == 30


async def test_errors_are_http_200_bodies(world: World) -> None:
    from sandbox.baselinker import create_baselinker_app

    async with asgi(create_baselinker_app(world)) as client:
        client.headers["X-BLToken"] = "wrong"
        bad = await call(client, "getOrders")
        assert bad == {
            "status": "ERROR",
            "error_code": "ERROR_BAD_TOKEN",
            "error_message": "Invalid user token",
        }
        client.headers["X-BLToken"] = world.config.baselinker.token
        unknown = await call(client, "getEverything")
        assert unknown["error_code"] == "ERROR_UNKNOWN_METHOD"
        legacy = await client.post(
            "/connector.php",
            data={"token": world.config.baselinker.token, "method": "getInventories"},
        )
        assert legacy.json()["status"] == "SUCCESS"


async def test_rate_limit_per_token() -> None:
    from sandbox.baselinker import create_baselinker_app

    world = World.create(quiet_config(baselinker_rate_limit_per_minute=100))
    async with asgi(create_baselinker_app(world)) as client:
        client.headers["X-BLToken"] = world.config.baselinker.token
        answers = [await call(client, "getInventories") for _ in range(101)]
    assert all(a["status"] == "SUCCESS" for a in answers[:100])
    assert answers[100]["status"] == "ERROR"
    assert answers[100]["error_code"] == "ERROR_USER_ACCOUNT_BLOCKED"


async def test_journal_lists_creations_and_status_changes(
    world: World, baselinker: httpx.AsyncClient
) -> None:
    _import(world, 2)
    order = world.oms.orders[3001001]
    world.oms.set_status(order, BL_STATUS_IN_ERP, timefmt.now())
    logs = (await call(baselinker, "getJournalList", last_log_id=0, logs_types=[1, 18]))["logs"]
    assert [(e["order_id"], e["log_type"]) for e in logs] == [
        (3001001, 1),
        (3001002, 1),
        (3001001, 18),
    ]
    assert logs[2]["object_id"] == BL_STATUS_IN_ERP
    later = (await call(baselinker, "getJournalList", last_log_id=logs[1]["log_id"]))["logs"]
    assert [e["log_type"] for e in later] == [18]


async def test_journal_empty_until_enabled() -> None:
    from sandbox.baselinker import create_baselinker_app

    world = World.create(quiet_config(baselinker_journal_enabled=False))
    _import(world, 1)
    async with asgi(create_baselinker_app(world)) as client:
        client.headers["X-BLToken"] = world.config.baselinker.token
        body = await call(client, "getJournalList", last_log_id=0)
    assert body == {"status": "SUCCESS", "logs": []}


async def test_inventory_stock(world: World, baselinker: httpx.AsyncClient) -> None:
    inventories = (await call(baselinker, "getInventories"))["inventories"]
    inventory_id = inventories[0]["inventory_id"]
    stock = (
        await call(baselinker, "getInventoryProductsStock", inventory_id=inventory_id, page=1)
    )["products"]
    product = world.oms.product_by_sku("ABC-1")
    assert product is not None
    assert stock[str(product.product_id)] == {
        "product_id": product.product_id,
        "stock": {"bl_1": product.stock},
        "variants": [],
    }
    listed = await call(
        baselinker, "getInventoryProductsList", inventory_id=inventory_id, filter_sku="ABC-1"
    )
    assert [p["sku"] for p in listed["products"].values()] == ["ABC-1"]
    wrong = await call(baselinker, "getInventoryProductsStock", inventory_id=999)
    assert wrong["status"] == "ERROR"
