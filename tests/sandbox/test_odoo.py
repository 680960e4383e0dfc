"""The Odoo imitation: JSON-RPC with its error envelope, and the JSON-2 API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from sandbox.world import World

pytestmark = pytest.mark.asyncio


async def rpc(client: httpx.AsyncClient, service: str, method: str, *args: Any) -> dict[str, Any]:
    answer = await client.post(
        "/jsonrpc",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "id": 7,
            "params": {"service": service, "method": method, "args": list(args)},
        },
    )
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    assert body["jsonrpc"] == "2.0"
    assert body["id"] == 7
    return body


async def execute_kw(
    client: httpx.AsyncClient,
    world: World,
    model: str,
    method: str,
    args: list[Any],
    kwargs: dict[str, Any] | None = None,
    password: str | None = None,
) -> dict[str, Any]:
    creds = world.config.odoo
    return await rpc(
        client,
        "object",
        "execute_kw",
        creds.db,
        creds.uid,
        password or creds.password,
        model,
        method,
        args,
        kwargs or {},
    )


def _order_values(world: World, ref: str) -> dict[str, Any]:
    product_id = world.erp.db.search("product.product", [["default_code", "=", "ABC-1"]])[0]
    return {
        "partner_id": 1,
        "client_order_ref": ref,
        "state": "sale",
        "order_line": [
            [0, 0, {"product_id": product_id, "product_uom_qty": 2, "price_unit": 29.9}]
        ],
    }


async def test_login_answers_uid_or_false(world: World, odoo: httpx.AsyncClient) -> None:
    creds = world.config.odoo
    assert (await rpc(odoo, "common", "login", creds.db, creds.login, creds.password))[
        "result"
    ] == creds.uid
    assert (await rpc(odoo, "common", "authenticate", creds.db, creds.login, creds.api_key, {}))[
        "result"
    ] == creds.uid
    assert (await rpc(odoo, "common", "login", creds.db, creds.login, "wrong"))["result"] is False
    assert (await rpc(odoo, "common", "version"))["result"]["server_version"]


async def test_create_then_search_read_sale_order(world: World, odoo: httpx.AsyncClient) -> None:
    created = await execute_kw(
        odoo, world, "sale.order", "create", [_order_values(world, "3001001")]
    )
    order_id = created["result"]
    assert isinstance(order_id, int)
    found = await execute_kw(
        odoo,
        world,
        "sale.order",
        "search_read",
        [[["client_order_ref", "=", "3001001"]]],
        {
            "fields": [
                "name",
                "client_order_ref",
                "state",
                "amount_total",
                "write_date",
                "order_line",
                "partner_id",
            ]
        },
    )
    (order,) = found["result"]
    assert order["id"] == order_id
    assert order["name"] == "S01001"
    assert order["state"] == "sale"
    assert order["amount_total"] == 59.8
    assert len(order["order_line"]) == 1
    assert order["partner_id"] == [1, "Online shop customers"]
    assert len(order["write_date"]) == 19


async def test_stock_quant_product_is_id_and_display_name(
    world: World, odoo: httpx.AsyncClient
) -> None:
    quants = (
        await execute_kw(
            odoo,
            world,
            "stock.quant",
            "search_read",
            [
                [
                    "&",
                    ["product_id.default_code", "=", "ABC-1"],
                    ["location_id.usage", "=", "internal"],
                ]
            ],
            {"fields": ["product_id", "quantity", "reserved_quantity", "location_id"]},
        )
    )["result"]
    (quant,) = quants
    assert quant["product_id"][1] == "[ABC-1] Ceramic mug, white"
    assert quant["location_id"] == [8, "WH/Stock"]
    assert quant["quantity"] == world.erp.stock()["ABC-1"]
    assert quant["reserved_quantity"] == 0.0


async def test_error_envelope(world: World, odoo: httpx.AsyncClient) -> None:
    denied = await execute_kw(odoo, world, "sale.order", "search_read", [[]], password="wrong")
    assert "result" not in denied
    error = denied["error"]
    assert error["code"] == 200
    assert error["message"] == "Odoo Server Error"
    assert error["data"]["name"] == "odoo.exceptions.AccessDenied"
    assert error["data"]["message"] == "Access Denied"
    invalid = await execute_kw(odoo, world, "sale.order", "create", [{"client_order_ref": "x"}])
    assert invalid["error"]["data"]["name"] == "odoo.exceptions.ValidationError"
    unknown = await execute_kw(odoo, world, "no.such.model", "search", [[]])
    assert unknown["error"]["data"]["name"] == "builtins.KeyError"


async def test_json2_search_read_and_errors(world: World, odoo: httpx.AsyncClient) -> None:
    headers = {
        "Authorization": f"bearer {world.config.odoo.api_key}",
        "X-Odoo-Database": world.config.odoo.db,
    }
    found = await odoo.post(
        "/json/2/product.product/search_read",
        headers=headers,
        json={
            "domain": [["default_code", "in", ["ABC-1", "TEA-10"]]],
            "fields": ["default_code"],
            "context": {"lang": "en_US"},
        },
    )
    assert found.status_code == 200
    assert sorted(p["default_code"] for p in found.json()) == ["ABC-1", "TEA-10"]
    created = await odoo.post(
        "/json/2/sale.order/create",
        headers=headers,
        json={"vals_list": [_order_values(world, "9")]},
    )
    assert created.status_code == 200
    assert isinstance(created.json(), list)
    read = await odoo.post(
        "/json/2/sale.order/read", headers=headers, json={"ids": created.json(), "fields": ["name"]}
    )
    assert read.json()[0]["name"].startswith("S")
    denied = await odoo.post(
        "/json/2/sale.order/search", headers={"Authorization": "bearer nope"}, json={"domain": []}
    )
    assert denied.status_code == 401
    assert denied.json()["name"] == "werkzeug.exceptions.Unauthorized"
    assert denied.json()["message"] == "Invalid apikey"
    assert {"arguments", "context", "debug"} <= set(denied.json())
    bad = await odoo.post(
        "/json/2/sale.order/search", headers=headers, json={"domain": [], "badparameter": 1}
    )
    assert bad.status_code == 422
    assert "badparameter" in bad.json()["message"]
    rejected = await odoo.post(
        "/json/2/sale.order/create",
        headers=headers,
        json={"vals_list": [{"client_order_ref": "x"}]},
    )
    assert rejected.status_code == 422
    assert rejected.json()["name"] == "odoo.exceptions.ValidationError"
