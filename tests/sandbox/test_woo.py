"""The WooCommerce imitation answers REST API v3's documented shapes."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
import pytest

from sandbox import timefmt
from sandbox.traffic import place_order
from sandbox.woo_auth import SignedQuery
from sandbox.world import World
from tests.sandbox.conftest import asgi

pytestmark = pytest.mark.asyncio
ORDERS = "/wp-json/wc/v3/orders"


def _orders(world: World, count: int) -> None:
    for _ in range(count):
        place_order(world)


async def test_list_pages_with_total_headers(world: World, woo: httpx.AsyncClient) -> None:
    _orders(world, 25)
    first = await woo.get(
        ORDERS, params={"per_page": 10, "page": 1, "orderby": "id", "order": "asc"}
    )
    assert first.status_code == 200
    assert first.headers["X-WP-Total"] == "25"
    assert first.headers["X-WP-TotalPages"] == "3"
    assert 'rel="next"' in first.headers["Link"]
    last = await woo.get(
        ORDERS, params={"per_page": 10, "page": 3, "orderby": "id", "order": "asc"}
    )
    ids = [o["id"] for o in first.json()] + [o["id"] for o in last.json()]
    assert ids[:10] == list(range(1001, 1011))
    assert ids[10:] == list(range(1021, 1026))
    beyond = await woo.get(ORDERS, params={"per_page": 10, "page": 4})
    assert beyond.json() == []


async def test_order_shape(world: World, woo: httpx.AsyncClient) -> None:
    order = place_order(world)
    body = (await woo.get(f"{ORDERS}/{order.id}")).json()
    assert body["id"] == order.id
    assert body["number"] == str(order.id)
    assert body["status"] == "processing"
    assert body["currency"] == "PLN"
    assert body["total"] == f"{order.total:.2f}"
    assert body["date_created_gmt"] == timefmt.woo(order.date_created)
    assert "T" in body["date_modified_gmt"]
    assert not body["date_modified_gmt"].endswith("Z")
    assert [(i["sku"], i["quantity"]) for i in body["line_items"]] == [
        (line.sku, line.quantity) for line in order.lines
    ]


async def test_modified_after_returns_only_later_changes(
    world: World, woo: httpx.AsyncClient
) -> None:
    _orders(world, 3)
    old = world.shop.orders[1001]
    old.date_modified -= timedelta(hours=2)
    world.shop.orders[1002].date_modified -= timedelta(hours=2)
    since = timefmt.woo(timefmt.now() - timedelta(hours=1))
    body = (await woo.get(ORDERS, params={"modified_after": since})).json()
    assert [o["id"] for o in body] == [1003]
    world.shop.set_order_status(old, "completed", timefmt.now())
    body = (
        await woo.get(
            ORDERS, params={"modified_after": since, "orderby": "modified", "order": "asc"}
        )
    ).json()
    assert [o["id"] for o in body] == [1003, 1001]


async def test_per_page_over_100_is_a_rest_error(woo: httpx.AsyncClient) -> None:
    answer = await woo.get(ORDERS, params={"per_page": 101})
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["status"] == 400
    assert "per_page" in body["data"]["params"]


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        (None, "woocommerce_rest_cannot_view"),
        (("ck_wrong", "cs_whatever"), "woocommerce_rest_authentication_error"),
    ],
)
async def test_auth_failures(world: World, auth: tuple[str, str] | None, code: str) -> None:
    from sandbox.woo import create_woo_app

    async with asgi(create_woo_app(world), base_url="https://sandbox.test") as client:
        answer = await client.get(ORDERS, auth=httpx.BasicAuth(*auth) if auth else None)
    assert answer.status_code == 401
    assert answer.json()["code"] == code
    assert answer.json()["data"] == {"status": 401}


async def test_wrong_secret_and_query_string_auth_over_https(world: World) -> None:
    from sandbox.woo import create_woo_app

    key, secret = world.config.woo.consumer_key, world.config.woo.consumer_secret
    async with asgi(create_woo_app(world), base_url="https://sandbox.test") as client:
        wrong = await client.get(
            ORDERS,
            headers={"Authorization": "Basic " + base64.b64encode(f"{key}:nope".encode()).decode()},
        )
        assert wrong.json()["message"] == "Consumer secret is invalid."
        right = await client.get(ORDERS, params={"consumer_key": key, "consumer_secret": secret})
        assert right.status_code == 200
        basic = await client.get(ORDERS, auth=httpx.BasicAuth(key, secret))
        assert basic.status_code == 200


async def test_plain_http_takes_only_oauth1(world: World) -> None:
    """A shop without TLS: Basic and query keys are not read, so the request is anonymous."""
    from sandbox.woo import create_woo_app

    key, secret = world.config.woo.consumer_key, world.config.woo.consumer_secret
    async with asgi(create_woo_app(world)) as client:
        for refused in (
            await client.get(ORDERS, auth=httpx.BasicAuth(key, secret)),
            await client.get(ORDERS, params={"consumer_key": key, "consumer_secret": secret}),
        ):
            assert refused.status_code == 401
            assert refused.json()["code"] == "woocommerce_rest_cannot_view"
        assert (await client.get(ORDERS, auth=SignedQuery(key, secret))).status_code == 200
        forged = await client.get(ORDERS, auth=SignedQuery(key, "cs_wrong"))
        assert forged.status_code == 401
        assert "signature does not match" in forged.json()["message"]
        request = client.build_request("GET", ORDERS)
        signed = next(SignedQuery(key, secret).auth_flow(request))
        assert (await client.send(signed)).status_code == 200
        replayed = await client.send(signed)
        assert replayed.json()["message"] == "Invalid nonce - nonce has already been used."
        # The namespace index answers without credentials, as WordPress does.
        assert (await client.get("/wp-json/wc/v3")).status_code == 200


async def test_products_by_sku_and_stock_fields(woo: httpx.AsyncClient) -> None:
    body = (await woo.get("/wp-json/wc/v3/products", params={"sku": "ABC-1"})).json()
    assert len(body) == 1
    product = body[0]
    assert product["sku"] == "ABC-1"
    assert product["manage_stock"] is True
    assert isinstance(product["stock_quantity"], int)
    assert product["stock_status"] in {"instock", "outofstock"}


async def test_update_and_batch_update_stock(world: World, woo: httpx.AsyncClient) -> None:
    mug = world.shop.product_by_sku("ABC-1")
    kettle = world.shop.product_by_sku("KTL-1")
    assert mug is not None
    assert kettle is not None
    single = await woo.put(f"/wp-json/wc/v3/products/{mug.id}", json={"stock_quantity": 0})
    assert single.json()["stock_status"] == "outofstock"
    batch = await woo.post(
        "/wp-json/wc/v3/products/batch",
        json={"update": [{"id": mug.id, "stock_quantity": 7}, {"id": 999, "stock_quantity": 1}]},
    )
    assert batch.status_code == 200
    updated, missing = batch.json()["update"]
    assert updated["stock_quantity"] == 7
    assert mug.stock_quantity == 7
    assert missing["error"]["code"] == "woocommerce_rest_product_invalid_id"
    too_many = await woo.post(
        "/wp-json/wc/v3/products/batch", json={"update": [{"id": kettle.id}] * 101}
    )
    assert too_many.status_code == 413
    assert too_many.json()["code"] == "woocommerce_rest_request_entity_too_large"


async def test_create_order_and_unknown_ids(woo: httpx.AsyncClient) -> None:
    created = await woo.post(
        ORDERS, json={"status": "processing", "line_items": [{"sku": "TEA-10", "quantity": 2}]}
    )
    assert created.status_code == 201
    assert created.json()["line_items"][0]["sku"] == "TEA-10"
    missing = await woo.get(f"{ORDERS}/1")
    assert missing.status_code == 404
    assert missing.json()["code"] == "woocommerce_rest_shop_order_invalid_id"
    no_route = await woo.get("/wp-json/wc/v3/nothing")
    assert no_route.json()["code"] == "rest_no_route"
