"""The Magento 2 imitation: searchCriteria, the list envelope, MSI source items, errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from connectors.magento import MagentoConnector
from sandbox import timefmt
from sandbox.magento import create_magento_app
from sandbox.traffic import random_lines
from sandbox.world import World
from tests.sandbox.conftest import asgi

pytestmark = pytest.mark.asyncio
ORDERS = "/rest/default/V1/orders"
F = "searchCriteria[filter_groups][0][filters][0]"


def _orders(world: World, count: int) -> None:
    for _ in range(count):
        world.magento.create_order(random_lines(world), timefmt.now())


async def test_updated_at_filter_and_paging(world: World, magento: httpx.AsyncClient) -> None:
    _orders(world, 5)
    old = world.magento.orders[1]
    old.updated_at -= timedelta(days=1)
    since = timefmt.odoo(timefmt.now() - timedelta(hours=1))
    params = {
        f"{F}[field]": "updated_at",
        f"{F}[value]": since,
        f"{F}[condition_type]": "gt",
        "searchCriteria[pageSize]": "3",
        "searchCriteria[currentPage]": "2",
        "searchCriteria[sortOrders][0][field]": "entity_id",
        "searchCriteria[sortOrders][0][direction]": "ASC",
    }
    body = (await magento.get(ORDERS, params=params)).json()
    assert body["total_count"] == 4
    assert [o["entity_id"] for o in body["items"]] == [5]
    assert body["search_criteria"]["page_size"] == 3
    assert body["search_criteria"]["current_page"] == 2
    assert body["search_criteria"]["filter_groups"][0]["filters"][0] == {
        "field": "updated_at",
        "value": since,
        "condition_type": "gt",
    }


async def test_order_shape(world: World, magento: httpx.AsyncClient) -> None:
    _orders(world, 1)
    order = (await magento.get(ORDERS, params={"searchCriteria": ""})).json()["items"][0]
    assert order["increment_id"] == "000001001"
    assert order["state"] == "processing"
    assert order["order_currency_code"] == "PLN"
    assert len(order["created_at"]) == 19
    assert order["created_at"][10] == " "
    assert {"sku", "qty_ordered", "price"} <= set(order["items"][0])
    one = await magento.get(f"{ORDERS}/{order['entity_id']}")
    assert one.json()["increment_id"] == order["increment_id"]


async def test_source_items(magento: httpx.AsyncClient) -> None:
    params = {f"{F}[field]": "sku", f"{F}[value]": "ABC-1", f"{F}[condition_type]": "eq"}
    body = (await magento.get("/rest/default/V1/inventory/source-items", params=params)).json()
    assert body["total_count"] == 1
    item = body["items"][0]
    assert set(item) == {"sku", "source_code", "quantity", "status"}
    assert item["source_code"] == "default"


async def test_errors_carry_message_and_parameters(
    world: World, magento: httpx.AsyncClient
) -> None:
    from sandbox.magento import create_magento_app

    async with asgi(create_magento_app(world)) as anonymous:
        denied = await anonymous.get(ORDERS, params={"searchCriteria": ""})
    assert denied.status_code == 401
    assert denied.json() == {
        "message": "The consumer isn't authorized to access %resources.",
        "parameters": {"resources": "Magento_Sales::actions_view"},
    }
    missing = await magento.get(ORDERS)
    assert missing.status_code == 400
    assert missing.json()["parameters"] == {"fieldName": "searchCriteria"}
    not_found = await magento.get(f"{ORDERS}/999")
    assert not_found.status_code == 404
    unknown_store = await magento.get("/rest/nowhere/V1/orders", params={"searchCriteria": ""})
    assert unknown_store.status_code == 400


async def test_connector_signs_oauth1_and_reads_salable_quantity(world: World) -> None:
    """Magento 2.4.4+ with integration-as-bearer off: the connector signs OAuth 1.0a with the
    four credentials and reads the salable quantity of the store's website's stock."""
    world.config.magento = replace(world.config.magento, integration_as_bearer=False)
    creds = world.config.magento
    app = create_magento_app(world)
    async with asgi(app) as client:
        bearer = await client.get(
            "/rest/default/V1/orders",
            params={"searchCriteria[pageSize]": "1"},
            headers={"Authorization": f"Bearer {creds.token}"},
        )
        assert bearer.status_code == 401
        connector = MagentoConnector(
            system_id="magento",
            base_url="http://sandbox.test",
            credentials={
                "access_token": creds.token,
                "consumer_key": creds.consumer_key,
                "consumer_secret": creds.consumer_secret,
                "access_token_secret": creds.token_secret,
                "store_code": creds.store_code,
            },
            client=client,
        )
        result = await connector.poll(None)
    assert not result.notes, result.notes
    # The shop's own health, as the imitation's core REST API tells it (no cron, no indexers).
    platform = result.health["platform"]
    assert (platform["msi"], platform["extensions"]) == (True, ["PayPal_Braintree"])
    assert platform["store"]["code"] == creds.store_code
    assert (platform["cron"], platform["indexers"]) == (None, None)
    stock = {e.refs["sku"]: e.quantity for e in result.events if e.flow == "stock" and e.refs}
    assert stock == {sku: item.quantity for sku, item in world.magento.source_items.items()}
    labels = {e.data["request"] for e in result.events if e.kind == "call" and e.data}
    assert "GET /rest/default/V1/inventory/stock-resolver/website/base" in labels


async def test_the_store_code_of_the_path_names_a_store(
    world: World, magento: httpx.AsyncClient
) -> None:
    _orders(world, 2)
    everything = {"searchCriteria[pageSize]": "10"}
    in_store = (await magento.get(ORDERS, params=everything)).json()
    default = (await magento.get("/rest/V1/orders", params=everything)).json()
    assert default == in_store  # /rest/V1/... is the default store
    assert in_store["total_count"] == 2
    first = in_store["items"][0]["entity_id"]
    assert (await magento.get(f"/rest/V1/orders/{first}")).json()["entity_id"] == first
    unknown = await magento.get("/rest/nope/V1/orders", params=everything)
    assert unknown.status_code == 400
    assert "store that was requested wasn't found" in unknown.json()["message"]
