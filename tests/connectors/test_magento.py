from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import respx
from oauthlib.oauth1.rfc5849 import signature

from connectors.base import AuthError
from connectors.magento import MagentoConnector
from tests.connectors.conftest import Clock, FakeMagento, Sleeps, load

pytestmark = pytest.mark.asyncio

BASE = "https://store.example.com"
ORDERS = f"{BASE}/rest/default/V1/orders"
SOURCE_ITEMS = f"{BASE}/rest/default/V1/inventory/source-items"


def make(deps: dict[str, Any], page_size: int = 100, **extra: str) -> MagentoConnector:
    connector = MagentoConnector(
        system_id="shop",
        base_url=BASE,
        credentials={"access_token": "integration-token", **extra},
        **deps,
    )
    connector.page_size = page_size
    connector.stock_page_size = 2
    return connector


def seen(events: list[Any], flow: str = "order") -> list[Any]:
    return [e for e in events if e.kind == "seen" and e.flow == flow]


@pytest.fixture
def routes(router: respx.Router, magento: FakeMagento) -> FakeMagento:
    router.get(url__startswith=f"{BASE}/rest/").mock(side_effect=magento.resources)
    return magento


async def test_orders_by_increment_id_with_search_criteria(
    routes: FakeMagento, deps: dict[str, Any]
) -> None:
    result = await make(deps).poll(None)

    orders = seen(result.events)
    assert [e.refs for e in orders] == [
        {"shop": "000000201"},
        {"shop": "000000202"},
        {"shop": "000000203"},
        {"shop": "000000204"},
    ]
    # The configurable parent and its simple child are one line, with the child's SKU.
    assert orders[1].data == {
        "lines": 1,
        "total": "65.00",
        "currency": "PLN",
        "skus": {"TSHIRT-M": 1},
        "entity_id": 202,
    }
    assert orders[3].state == "complete"
    assert orders[3].data is not None
    assert orders[3].data["total"] == "199.50"
    request = routes.requests[0]
    assert request.headers["authorization"] == "Bearer integration-token"
    params = request.url.params
    assert params["searchCriteria[filter_groups][0][filters][0][field]"] == "updated_at"
    assert params["searchCriteria[filter_groups][0][filters][0][condition_type]"] == "gt"
    assert params["searchCriteria[filter_groups][0][filters][0][value]"] == "2026-11-24 11:59:59"
    assert params["searchCriteria[sortOrders][0][direction]"] == "ASC"


async def test_pages_end_at_total_count_and_resume_is_exact(
    routes: FakeMagento, deps: dict[str, Any], clock: Clock
) -> None:
    first = await make(deps, page_size=1).poll(None)
    assert [e.refs["shop"] for e in seen(first.events)] == [
        "000000201",
        "000000202",
        "000000203",
        "000000204",
    ]
    order_requests = [r for r in routes.requests if r.url.path.endswith("/orders")]
    assert len(order_requests) <= 6  # never loops on the repeated last page

    routes.orders[0]["updated_at"] = "2026-11-25 11:30:00"
    routes.orders[0]["status"] = "canceled"
    clock.advance(60)
    second = await make(deps, page_size=1).poll(first.cursor)
    assert [(e.refs["shop"], e.state) for e in seen(second.events)] == [("000000201", "canceled")]


async def test_stock_is_the_salable_quantity_of_the_websites_stock(
    routes: FakeMagento, deps: dict[str, Any]
) -> None:
    result = await make(deps).poll(None)

    stock = {e.refs["sku"]: (e.quantity, e.state) for e in seen(result.events, "stock")}
    # Not the sum of all sources (12.5 for ABC-1): the website's stock less reservations.
    assert stock == {
        "ABC-1": (9.5, "in_stock"),
        "ABC-2": (0, "out_of_stock"),
        "TSHIRT-M": (3, "in_stock"),
    }
    paths = [r.url.path.split("/V1/")[1] for r in routes.requests]
    assert "inventory/stock-resolver/website/base" in paths  # store "default" -> website base
    assert "inventory/get-product-salable-quantity/ABC-1/2" in paths

    only = await make(deps, stock_id="3", source_code="warsaw").poll(None)
    assert {e.refs["sku"]: e.quantity for e in seen(only.events, "stock")} == {
        "ABC-1": 2.5,
        "TSHIRT-M": 4,
    }


async def test_without_msi_stock_items_are_read(
    router: respx.Router, routes: FakeMagento, deps: dict[str, Any]
) -> None:
    router.routes.clear()
    router.get(SOURCE_ITEMS).respond(404, json=load("magento", "error_404_msi.json"))
    router.get(url__startswith=f"{BASE}/rest/").mock(side_effect=routes.resources)

    result = await make(deps).poll(None)

    stock = {e.refs["sku"]: (e.quantity, e.state) for e in seen(result.events, "stock")}
    assert stock == {"ABC-1": (7, "in_stock")}
    assert any("no MSI source-items here (404)" in n for n in result.notes)


async def test_oauth1_with_four_credentials_instead_of_bearer(
    routes: FakeMagento, deps: dict[str, Any]
) -> None:
    oauth = {
        "consumer_key": "ck-integration",
        "consumer_secret": "cs-integration",
        "access_token_secret": "ts-integration",
    }
    await make(deps, **oauth).poll(None)

    header = routes.requests[0].headers["authorization"]
    assert header.startswith("OAuth ")
    assert 'oauth_consumer_key="ck-integration"' in header
    assert 'oauth_token="integration-token"' in header
    assert 'oauth_signature_method="HMAC-SHA256"' in header
    # The signature verifies with the four credentials (server side of the same RFC 5849).
    request = routes.requests[0]
    params = signature.collect_parameters(
        uri_query=request.url.query.decode(), headers={"Authorization": header}
    )
    base = signature.signature_base_string(
        "GET",
        signature.base_string_uri(str(request.url)),
        signature.normalize_parameters(params),
    )
    sent = dict(
        signature.collect_parameters(
            headers={"Authorization": header}, exclude_oauth_signature=False
        )
    )
    keys = SimpleNamespace(client_secret="cs-integration", resource_owner_secret="ts-integration")
    assert sent["oauth_signature"] == signature.sign_hmac_sha256_with_client(base, keys)

    routes.requests.clear()
    await make(deps).poll(None)
    assert routes.requests[0].headers["authorization"] == "Bearer integration-token"


async def test_unauthorized_token(router: respx.Router, deps: dict[str, Any]) -> None:
    router.get(ORDERS).respond(401, json=load("magento", "error_401.json"))
    with pytest.raises(AuthError) as caught:
        await make(deps).poll(None)
    assert "isn't authorized to access Magento_Sales::actions_view" in str(caught.value)


async def test_5xx_retry_429_and_malformed(
    router: respx.Router, magento: FakeMagento, deps: dict[str, Any], sleeps: Sleeps
) -> None:
    router.get(ORDERS).mock(
        side_effect=[
            httpx.Response(
                500, json={"message": "Internal Error. Details are available in Magento log file."}
            ),
            httpx.Response(429, headers={"Retry-After": "2"}),
            magento.handle,
        ]
    )
    router.get(SOURCE_ITEMS).respond(200, text="<!doctype html><title>Maintenance</title>")

    result = await make(deps).poll(None)

    assert 2.0 in sleeps.delays
    assert len(seen(result.events)) == 4
    assert any(n.startswith("stock: ProtocolError") for n in result.notes)
    errors = [e.outcome.error for e in result.events if e.outcome and e.outcome.error]
    assert any("Magento log file" in error for error in errors)
    assert any("malformed JSON" in error for error in errors)


async def test_test_connection_explains_missing_msi(
    router: respx.Router, magento: FakeMagento, deps: dict[str, Any]
) -> None:
    router.get(ORDERS).mock(side_effect=magento.handle)
    router.get(SOURCE_ITEMS).respond(404, json=load("magento", "error_404_msi.json"))
    router.get(url__startswith=f"{BASE}/rest/").mock(side_effect=magento.resources)
    checks = await make(deps).test()
    assert [(c.name, c.ok) for c in checks] == [
        ("orders", True),
        ("stock (MSI salable quantity)", True),
    ]
    assert "no MSI (source-items: 404" in checks[1].detail
