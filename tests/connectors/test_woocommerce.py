from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx
from woocommerce.oauth import OAuth as WooOAuth

from connectors.base import AuthError, ProtocolError, RateLimited, Unavailable
from connectors.polling import EventBuilder
from connectors.woocommerce import WooCommerceConnector, order_to_event
from graph.model import ARBITER_SYSTEM
from tests.connectors.conftest import ORDER_4505_DATA, Clock, FakeWoo, Sleeps, load

BASE = "https://shop.example.com"
ORDERS = f"{BASE}/wp-json/wc/v3/orders"
PRODUCTS = f"{BASE}/wp-json/wc/v3/products"
CREDS = {"consumer_key": "ck_test", "consumer_secret": "cs_test"}


def make(deps: dict[str, Any], per_page: int = 100) -> WooCommerceConnector:
    connector = WooCommerceConnector(system_id="shop", base_url=BASE, credentials=CREDS, **deps)
    connector.per_page = per_page
    return connector


def seen(events: list[Any], flow: str = "order") -> list[Any]:
    return [e for e in events if e.kind == "seen" and e.flow == flow]


@pytest.fixture
def woo_lists(router: respx.Router, woo: FakeWoo) -> None:
    """The fake shop answers its orders and products lists."""
    router.get(ORDERS).mock(side_effect=woo.handle)
    router.get(PRODUCTS).mock(side_effect=woo.handle)


@pytest.mark.asyncio
@pytest.mark.usefixtures("woo_lists")
async def test_orders_become_seen_events_with_number_refs_and_call_evidence(
    woo: FakeWoo, deps: dict[str, Any]
) -> None:
    result = await make(deps).poll(None)

    orders = seen(result.events)
    assert next(e.refs for e in orders) == {"shop": "100041"}
    last = orders[-1]
    assert last.id == "shop:order:100045:2026-11-25T11:15:00Z"
    assert last.state == "completed"
    # shipping_lines and fee_lines are in the total, not among the product lines.
    assert last.data == ORDER_4505_DATA
    calls = [e for e in result.events if e.kind == "call"]
    assert {(c.system, c.target, c.outcome.status) for c in calls} == {
        (ARBITER_SYSTEM, "shop", 200)
    }
    assert {c.flow for c in calls} == {"order", "stock"}
    assert len({e.id for e in result.events}) == len(result.events)
    auth = woo.requests[0].headers["authorization"]
    assert auth == httpx.BasicAuth("ck_test", "cs_test")._auth_header
    params = woo.requests[0].url.params
    assert params["modified_after"] == "2026-11-24T11:59:59"
    assert params["dates_are_gmt"] == "true"
    assert params["orderby"] == "modified"


@pytest.mark.asyncio
@pytest.mark.usefixtures("woo_lists")
async def test_pagination_reads_every_page(woo: FakeWoo, deps: dict[str, Any]) -> None:
    result = await make(deps, per_page=2).poll(None)

    numbers = [e.refs["shop"] for e in seen(result.events)]
    assert numbers == ["100041", "100042", "100043", "100044", "100045"]
    order_requests = [r for r in woo.requests if r.url.path.endswith("/orders")]
    assert len(order_requests) >= 3
    skus = {e.refs["sku"]: (e.quantity, e.state) for e in seen(result.events, "stock")}
    assert skus == {
        "ABC-1": (12, "instock"),
        "ABC-2": (0, "outofstock"),
        "GIFT-CARD": (None, "instock"),
    }


@pytest.mark.asyncio
@pytest.mark.usefixtures("woo_lists")
async def test_cursor_resume_has_no_gaps_and_no_duplicates(
    woo: FakeWoo, deps: dict[str, Any], clock: Clock
) -> None:
    first = await make(deps, per_page=2).poll(None)

    # Nothing changed: a restarted connector (new object, persisted cursor) emits nothing.
    clock.advance(60)
    again = await make(deps, per_page=2).poll(first.cursor)
    assert seen(again.events) == []
    assert seen(again.events, "stock") == []

    # A record modified in the very second of the cursor, and a later one, both arrive once.
    woo.touch(4502, "2026-11-25T11:15:00", status="processing")
    woo.touch(4501, "2026-11-25T11:50:00", status="completed")
    third = await make(deps, per_page=2).poll(again.cursor)
    assert [(e.refs["shop"], e.state) for e in seen(third.events)] == [
        ("100042", "processing"),
        ("100041", "completed"),
    ]
    ids = {e.id for e in [*first.events, *third.events]}
    assert len(ids) == len(first.events) + len(third.events)


@pytest.mark.asyncio
@pytest.mark.usefixtures("woo_lists")
async def test_stock_change_is_emitted_once(
    woo: FakeWoo, deps: dict[str, Any], clock: Clock
) -> None:
    first = await make(deps).poll(None)
    woo.products[0]["stock_quantity"] = 7
    clock.advance(300)
    second = await make(deps).poll(first.cursor)
    stock = seen(second.events, "stock")
    assert [(e.refs, e.quantity) for e in stock] == [({"sku": "ABC-1"}, 7)]
    assert stock[0].id == "shop:stock:ABC-1:2026-11-25T12:05:00Z"


@pytest.mark.asyncio
async def test_auth_failure_raises_with_evidence(
    router: respx.Router, deps: dict[str, Any]
) -> None:
    router.get(ORDERS).respond(401, json=load("woocommerce", "error_401.json"))

    with pytest.raises(AuthError) as caught:
        await make(deps).poll(None)

    assert "woocommerce_rest_cannot_view" in str(caught.value)
    assert caught.value.status == 401
    [call] = caught.value.events
    assert call.outcome is not None
    assert call.outcome.status == 401
    assert "Sorry, you cannot list resources." in (call.outcome.error or "")


@pytest.mark.asyncio
async def test_429_honours_retry_after_then_succeeds(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any], sleeps: Sleeps
) -> None:
    router.get(ORDERS).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}, json={}), woo.handle]
    )
    router.get(PRODUCTS).mock(side_effect=woo.handle)

    result = await make(deps).poll(None)

    assert 7.0 in sleeps.delays
    statuses = [e.outcome.status for e in result.events if e.outcome]
    assert statuses[:2] == [429, 200]
    assert len(seen(result.events)) == 5


@pytest.mark.asyncio
async def test_429_asking_too_long_is_raised(router: respx.Router, deps: dict[str, Any]) -> None:
    router.get(ORDERS).respond(429, headers={"Retry-After": "3600"})
    with pytest.raises(RateLimited) as caught:
        await make(deps).poll(None)
    assert caught.value.retry_after == 3600


@pytest.mark.asyncio
async def test_5xx_then_success_is_retried_with_backoff(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any], sleeps: Sleeps
) -> None:
    router.get(ORDERS).mock(
        side_effect=[
            httpx.Response(503, text="<html>Service Unavailable</html>"),
            httpx.ConnectTimeout("slow"),
            woo.handle,
        ]
    )
    router.get(PRODUCTS).mock(side_effect=woo.handle)

    result = await make(deps).poll(None)

    outcomes = [(e.outcome.status, e.outcome.error) for e in result.events if e.outcome]
    assert outcomes[0][0] == 503
    assert "Service Unavailable" in (outcomes[0][1] or "")
    assert outcomes[1][0] is None
    assert "timed out" in (outcomes[1][1] or "")
    assert outcomes[2] == (200, None)
    assert len(sleeps.delays) == 2
    assert len(seen(result.events)) == 5


@pytest.mark.asyncio
async def test_persistent_5xx_in_one_stream_is_a_note_not_a_crash(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any]
) -> None:
    router.get(ORDERS).respond(500, json=load("woocommerce", "error_500.json"))
    router.get(PRODUCTS).mock(side_effect=woo.handle)

    result = await make(deps).poll(None)

    assert "orders" not in result.cursor
    assert any(n.startswith("orders: Unavailable") for n in result.notes)
    assert len([e for e in result.events if e.outcome and e.outcome.status == 500]) == 3


@pytest.mark.asyncio
async def test_every_stream_failing_raises(router: respx.Router, deps: dict[str, Any]) -> None:
    router.get(ORDERS).respond(500)
    router.get(PRODUCTS).respond(502)
    with pytest.raises(Unavailable) as caught:
        await make(deps).poll({"orders": {"since": "2026-11-25T11:00:00Z", "edge": []}})
    assert len(caught.value.events) == 6


@pytest.mark.asyncio
async def test_malformed_json_is_evidence_not_a_crash(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any]
) -> None:
    router.get(ORDERS).respond(
        200, text='[{"id": 4501, "number": "1000', headers={"X-WP-TotalPages": "1"}
    )
    router.get(PRODUCTS).mock(side_effect=woo.handle)

    result = await make(deps).poll(None)

    [bad] = [e for e in result.events if e.kind == "call" and e.outcome and e.outcome.error]
    assert bad.outcome is not None
    assert bad.outcome.status == 200
    assert "malformed JSON" in (bad.outcome.error or "")
    assert any("ProtocolError" in n for n in result.notes)

    router.get(PRODUCTS).respond(200, text="<html>")
    with pytest.raises(ProtocolError) as caught:
        await make(deps).poll(None)
    assert all(e.kind == "call" for e in caught.value.events)


@pytest.mark.asyncio
async def test_test_connection_reports_each_check(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any]
) -> None:
    router.get(ORDERS).mock(side_effect=woo.handle)
    router.get(PRODUCTS).respond(401, json=load("woocommerce", "error_401.json"))

    checks = await make(deps).test()

    assert [(c.name, c.ok) for c in checks] == [("orders", True), ("products", False)]
    assert "5 in all" in checks[0].detail
    assert "AuthError" in checks[1].detail


def test_shipping_fees_and_coupons_are_in_the_total_not_the_lines() -> None:
    order = load("woocommerce", "order_shipping_fee_variation.json")
    builder = EventBuilder(system_id="shop")

    event = order_to_event(builder, order)

    assert event.data is not None
    # 6.00 + 12.00 + 1.35 tax + 10.00 shipping + 11.00 fee: WooCommerce's own gross total.
    assert event.data["total"] == "40.35"
    assert event.data["currency"] == "USD"
    assert event.data["lines"] == 2  # line_items only: no shipping, fee or coupon line
    # The variation's own SKU, as webhooks and the variations endpoint report it.
    assert event.data["skus"] == {"WOO-SINGLE-1": 2, "SHIP-IDEA-BLACK-M": 1}


@pytest.mark.asyncio
@pytest.mark.usefixtures("woo_lists")
async def test_variable_products_are_read_per_variation_sku(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any]
) -> None:
    woo.products = load("woocommerce", "products_variable.json")
    woo.variations = {
        22: load("woocommerce", "variations_22.json"),
        30: load("woocommerce", "variations_30.json"),
    }
    router.get(url__regex=rf"{PRODUCTS}/\d+/variations").mock(side_effect=woo.handle)

    result = await make(deps).poll(None)

    stock = {e.refs["sku"]: (e.quantity, e.state) for e in seen(result.events, "stock")}
    assert stock == {
        "SHIP-IDEA-BLACK-M": (4, "instock"),  # the SKU orders and webhooks name
        "SHIP-IDEA-GREEN-S": (0, "outofstock"),
        "HOODIE": (9, "instock"),
        "HOODIE-L": (9, "instock"),  # manage_stock "parent": the parent's quantity
    }
    paths = [r.url.path for r in woo.requests if r.url.path.endswith("/variations")]
    assert paths == [
        "/wp-json/wc/v3/products/22/variations",
        "/wp-json/wc/v3/products/30/variations",
    ]


@pytest.mark.asyncio
async def test_auth_scheme_follows_the_transport(
    router: respx.Router, woo: FakeWoo, deps: dict[str, Any], clock: Clock
) -> None:
    plain = "http://shop.example.com"
    router.get(f"{plain}/wp-json/wc/v3/orders").mock(side_effect=woo.handle)
    router.get(f"{plain}/wp-json/wc/v3/products").mock(side_effect=woo.handle)
    router.get(ORDERS).mock(side_effect=woo.handle)
    router.get(PRODUCTS).mock(side_effect=woo.handle)

    await WooCommerceConnector(system_id="shop", base_url=plain, credentials=CREDS, **deps).poll(
        None
    )
    signed = woo.requests[0]
    assert "authorization" not in signed.headers  # never Basic over plain http
    query = dict(signed.url.params)
    assert query["oauth_consumer_key"] == "ck_test"
    assert query["oauth_signature_method"] == "HMAC-SHA256"
    # The official WooCommerce client's own signing agrees with ours on the same request.
    url = f"{plain}{signed.url.path}"
    unsigned = {k: v for k, v in signed.url.params.multi_items() if k != "oauth_signature"}
    expected = WooOAuth(url, "ck_test", "cs_test", method="GET").generate_oauth_signature(
        dict(unsigned), url
    )
    assert query["oauth_signature"] == expected

    woo.requests.clear()
    await make(deps).poll(None)  # https: Basic by default
    assert woo.requests[0].headers["authorization"].startswith("Basic ")
    assert "oauth_signature" not in woo.requests[0].url.params

    woo.requests.clear()
    creds = {**CREDS, "auth": "query"}  # for hosts that strip Authorization
    await WooCommerceConnector(system_id="shop", base_url=BASE, credentials=creds, **deps).poll(
        None
    )
    assert "authorization" not in woo.requests[0].headers
    assert woo.requests[0].url.params["consumer_secret"] == "cs_test"
