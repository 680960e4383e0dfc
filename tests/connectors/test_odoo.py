from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from connectors.base import AuthError, Unavailable
from connectors.odoo import OdooConnector
from tests.connectors.conftest import Clock, FakeOdoo, load

pytestmark = pytest.mark.asyncio

BASE = "https://erp.example.com"
JSONRPC = {"protocol": "jsonrpc", "database": "prod", "login": "arbiter", "password": "secret"}
JSON2 = {"protocol": "json2", "database": "prod", "api_key": "odoo-key"}


@pytest.fixture(params=["jsonrpc", "json2"])
def protocol(request: pytest.FixtureRequest, router: respx.Router, odoo: FakeOdoo) -> str:
    router.post(f"{BASE}/jsonrpc").mock(side_effect=odoo.jsonrpc)
    router.route(method="POST", url__startswith=f"{BASE}/json/2/").mock(side_effect=odoo.json2)
    name: str = request.param
    return name


def make(deps: dict[str, Any], protocol: str, **extra: str) -> OdooConnector:
    credentials = {**(JSONRPC if protocol == "jsonrpc" else JSON2), **extra}
    return OdooConnector(
        system_id="erp", base_url=BASE, credentials=credentials, upstream="oms", **deps
    )


def seen(events: list[Any], flow: str = "order") -> list[Any]:
    return [e for e in events if e.kind == "seen" and e.flow == flow]


async def test_sale_orders_carry_the_oms_number(protocol: str, deps: dict[str, Any]) -> None:
    result = await make(deps, protocol).poll(None)

    orders = seen(result.events)
    assert [e.refs for e in orders] == [
        {"erp": "S00031", "oms": "7787"},
        {"erp": "S00032", "oms": "7788"},
        {"erp": "S00033"},
        {"erp": "S00034", "oms": "7789"},
    ]
    assert orders[3].id == "erp:order:S00034:2026-11-25T11:25:00Z"
    assert orders[3].state == "sale"
    # The delivery line is in amount_total but not a product line.
    assert orders[3].data == {
        "lines": 1,
        "total": "199.00",
        "currency": "PLN",
        "skus": {"ABC-1": 2},
        "id": 34,
    }
    # A section line (display_type) is not a product line either.
    assert orders[2].data is not None
    assert (orders[2].data["lines"], orders[2].data["skus"]) == (1, {"ABC-2": 1})

    assert all(e.target == "erp" for e in result.events if e.kind == "call")


async def test_stock_is_available_quantity_per_default_code(
    protocol: str, deps: dict[str, Any], odoo: FakeOdoo, clock: Clock
) -> None:
    first = await make(deps, protocol).poll(None)
    stock = {e.refs["sku"]: e.quantity for e in seen(first.events, "stock")}
    assert stock == {"ABC-1": 13, "ABC-2": 0}

    on_hand = await make(deps, protocol, stock_quantity="on_hand").poll(None)
    assert {e.refs["sku"]: e.quantity for e in seen(on_hand.events, "stock")}["ABC-1"] == 15

    # Odoo drops empty quants: a SKU that vanished is at 0; an unchanged one is not repeated.
    odoo.tables["stock.quant"] = [q for q in odoo.tables["stock.quant"] if q["product_id"][0] != 41]
    clock.advance(600)
    second = await make(deps, protocol).poll(first.cursor)
    assert [(e.refs["sku"], e.quantity) for e in seen(second.events, "stock")] == [("ABC-1", 0)]


async def test_paging_and_resume_without_gaps_or_duplicates(
    protocol: str, deps: dict[str, Any], odoo: FakeOdoo, clock: Clock
) -> None:
    connector = make(deps, protocol)
    connector.page = 2
    first = await connector.poll(None)
    assert len(seen(first.events)) == 4

    odoo.tables["sale.order"].append(
        {
            "id": 35,
            "name": "S00035",
            "client_order_ref": "7790",
            "state": "sale",
            "amount_total": 10,
            "currency_id": [17, "PLN"],
            "write_date": "2026-11-25 11:25:00",
            "order_line": [350],
        }
    )
    clock.advance(60)
    again = make(deps, protocol)
    again.page = 2
    second = await again.poll(first.cursor)
    assert [e.refs["erp"] for e in seen(second.events)] == ["S00035"]


async def test_refused_credentials(protocol: str, deps: dict[str, Any]) -> None:
    bad = {"password": "wrong"} if protocol == "jsonrpc" else {"api_key": "expired"}
    with pytest.raises(AuthError) as caught:
        await make(deps, protocol, **bad).poll(None)
    assert caught.value.events
    checks = await make(deps, protocol, **bad).test()
    assert not all(c.ok for c in checks)


async def test_jsonrpc_errors_inside_http_200(router: respx.Router, deps: dict[str, Any]) -> None:
    answers = iter(
        [
            {"jsonrpc": "2.0", "id": 1, "result": 2},
            load("odoo", "jsonrpc_missing_field.json"),
            load("odoo", "jsonrpc_access_denied.json"),
        ]
    )
    router.post(f"{BASE}/jsonrpc").mock(
        side_effect=lambda _: httpx.Response(200, json=next(answers))
    )

    with pytest.raises(AuthError) as caught:
        await make(deps, "jsonrpc").poll(None)

    assert "odoo.exceptions.AccessDenied" in str(caught.value)
    errors = [e.outcome.error for e in caught.value.events if e.outcome]
    assert errors[0] is None
    assert "Invalid field 'amount_totl'" in (errors[1] or "")


async def test_unreachable_erp_is_unavailable(router: respx.Router, deps: dict[str, Any]) -> None:
    router.post(f"{BASE}/json/2/sale.order/search_read").mock(
        side_effect=httpx.ConnectError("refused")
    )
    router.post(f"{BASE}/json/2/stock.quant/search_read").respond(503, text="Bad gateway")
    with pytest.raises(Unavailable) as caught:
        await make(deps, "json2").poll(None)
    assert len(caught.value.events) == 6
    assert {e.outcome.status for e in caught.value.events if e.outcome} == {None, 503}


async def test_json2_request_shape(
    router: respx.Router, odoo: FakeOdoo, deps: dict[str, Any]
) -> None:
    route = router.post(f"{BASE}/json/2/sale.order/search_read").mock(side_effect=odoo.json2)
    router.route(method="POST", url__startswith=f"{BASE}/json/2/").mock(side_effect=odoo.json2)

    await make(deps, "json2").poll(None)

    request = route.calls[0].request
    assert request.headers["authorization"] == "bearer odoo-key"
    assert request.headers["x-odoo-database"] == "prod"
    body = json.loads(request.content)
    assert body["domain"] == [["write_date", ">=", "2026-11-24 12:00:00"]]
    assert body["order"] == "write_date asc, id asc"
    assert "client_order_ref" in body["fields"]


async def test_test_connection(protocol: str, deps: dict[str, Any]) -> None:
    checks = await make(deps, protocol).test()
    assert [(c.name, c.ok) for c in checks] == [
        ("login", True),
        ("sale.order", True),
        ("stock.quant", True),
    ]
    assert "4 records" in checks[1].detail


async def test_without_the_delivery_module_lines_are_read_without_is_delivery(
    protocol: str, deps: dict[str, Any], odoo: FakeOdoo
) -> None:
    for row in odoo.tables["sale.order.line"]:
        row.pop("is_delivery")
    odoo.tables["sale.order.line"] = [r for r in odoo.tables["sale.order.line"] if r["id"] != 341]

    result = await make(deps, protocol).poll(None)

    orders = seen(result.events)
    assert [e.data["lines"] for e in orders if e.data] == [1, 2, 1, 1]
    fields = [k["fields"] for m, _, k in odoo.requests if m == "sale.order.line"]
    assert fields[0][-1] == "is_delivery"
    assert "is_delivery" not in fields[-1]
