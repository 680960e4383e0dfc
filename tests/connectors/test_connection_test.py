"""``test()`` says what failed in the words a merchant acts on: unreachable, TLS, the auth scheme
refused, a permission missing (which one), rate limited, a wrong store code or inventory id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from connectors.baselinker import BaseLinkerConnector, new_bucket
from connectors.magento import MagentoConnector
from connectors.woocommerce import WooCommerceConnector
from tests.connectors.conftest import load

pytestmark = pytest.mark.asyncio
CREDS = {"consumer_key": "ck_test", "consumer_secret": "cs_test"}


def woo(deps: dict[str, Any], base: str, **extra: str) -> WooCommerceConnector:
    return WooCommerceConnector(
        system_id="shop", base_url=base, credentials={**CREDS, **extra}, **deps
    )


async def details(connector: Any) -> list[str]:
    return [c.detail for c in await connector.test() if not c.ok]


async def test_unreachable_and_tls_are_told_apart(
    router: respx.Router, deps: dict[str, Any]
) -> None:
    router.get(url__startswith="https://down.example.com/").mock(
        side_effect=httpx.ConnectError("[Errno 111] Connection refused")
    )
    router.get(url__startswith="https://badcert.example.com/").mock(
        side_effect=httpx.ConnectError(
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"
        )
    )
    down = await details(woo(deps, "https://down.example.com"))
    assert down
    assert all(d.startswith("unreachable: no connection") for d in down)
    tls = await details(woo(deps, "https://badcert.example.com"))
    assert tls
    assert all(d.startswith("TLS failed") for d in tls)


async def test_woocommerce_auth_scheme_refused_over_plain_http(
    router: respx.Router, deps: dict[str, Any]
) -> None:
    anonymous = {
        "code": "woocommerce_rest_cannot_view",
        "message": "Sorry, you cannot list resources.",
        "data": {"status": 401},
    }
    router.get(url__startswith="http://shop.example.com/").respond(401, json=anonymous)

    basic = await details(woo(deps, "http://shop.example.com", auth="basic"))
    assert basic[0].startswith("auth scheme refused: over plain http WooCommerce reads only OAuth")

    refused = {
        "code": "woocommerce_rest_authentication_error",
        "message": "Invalid signature - provided signature does not match.",
        "data": {"status": 401},
    }
    router.routes.clear()
    router.get(url__startswith="http://shop.example.com/").respond(401, json=refused)
    signed = await details(woo(deps, "http://shop.example.com"))
    assert signed[0].startswith("credentials refused")


async def test_rate_limited_is_named(router: respx.Router, deps: dict[str, Any]) -> None:
    router.get(url__startswith="https://shop.example.com/").respond(
        429, headers={"Retry-After": "3600"}
    )
    limited = await details(woo(deps, "https://shop.example.com"))
    assert limited[0].startswith("rate limited; retry after 3600 s")


async def test_magento_bearer_refused_and_wrong_store_code(
    router: respx.Router, deps: dict[str, Any]
) -> None:
    base = "https://store.example.com"
    router.get(url__startswith=f"{base}/rest/default/").respond(
        401, json=load("magento", "error_401.json")
    )
    router.get(url__startswith=f"{base}/rest/nope/").respond(
        400,
        json={
            "message": "The store that was requested wasn't found. Verify the store and try again."
        },
    )

    def magento(**credentials: str) -> MagentoConnector:
        return MagentoConnector(
            system_id="shop",
            base_url=base,
            credentials={"access_token": "t", **credentials},
            **deps,
        )

    bearer = await details(magento())
    assert "Magento 2.4.4+ refuses an integration's access token as a bearer" in bearer[0]
    assert "Magento_Sales::actions_view" in bearer[0]
    oauth = {"consumer_key": "k", "consumer_secret": "s", "access_token_secret": "ts"}
    signed = await details(magento(**oauth))
    assert signed[0].startswith("permission missing: the integration lacks Magento_Sales")
    wrong = await details(magento(store_code="nope"))
    assert wrong[0].startswith("wrong store code 'nope'")


async def test_baselinker_wrong_inventory_id(router: respx.Router, deps: dict[str, Any]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if b"getInventoryProductsStock" in request.content:
            return httpx.Response(
                200,
                json={
                    "status": "ERROR",
                    "error_code": "ERROR_INVENTORY_NOT_FOUND",
                    "error_message": "Inventory not found",
                },
            )
        return httpx.Response(200, json={"status": "SUCCESS", "orders": [], "logs": []})

    router.post("https://api.baselinker.com/connector.php").mock(side_effect=answer)
    connector = BaseLinkerConnector(
        system_id="oms",
        base_url="https://api.baselinker.com",
        credentials={"token": "t", "inventory_id": "999"},
        limiter=new_bucket(),
        **deps,
    )
    [inventory] = await details(connector)
    assert inventory.startswith("wrong inventory_id or warehouse_id (ERROR_INVENTORY_NOT_FOUND)")
