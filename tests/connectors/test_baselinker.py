from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from connectors.base import AuthError, ProtocolError, RateLimited
from connectors.baselinker import BaseLinkerConnector, new_bucket
from connectors.http import TokenBucket
from tests.connectors.conftest import Clock, FakeBaseLinker, Sleeps, load

pytestmark = pytest.mark.asyncio

BASE = "https://api.baselinker.com"
ENDPOINT = f"{BASE}/connector.php"


def make(
    deps: dict[str, Any], limiter: TokenBucket | None = None, **credentials: str
) -> BaseLinkerConnector:
    return BaseLinkerConnector(
        system_id="oms",
        base_url=BASE,
        credentials={"token": "3001-xyz", **credentials},
        upstream="shop",
        limiter=limiter or new_bucket(),
        **deps,
    )


def seen(events: list[Any], flow: str = "order") -> list[Any]:
    return [e for e in events if e.kind == "seen" and e.flow == flow]


def bl(body: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=body)


@pytest.fixture
def served(router: respx.Router, baselinker: FakeBaseLinker) -> None:
    """The fake BaseLinker answers every call to connector.php."""
    router.post(ENDPOINT).mock(side_effect=baselinker.handle)


@pytest.mark.usefixtures("served")
async def test_orders_carry_the_shop_number_and_journal_status_changes(
    baselinker: FakeBaseLinker, deps: dict[str, Any]
) -> None:
    baselinker.orders[2]["date_in_status"] = baselinker.orders[2]["date_confirmed"] + 1680

    result = await make(deps).poll(None)

    # Arrival when confirmed in BaseLinker: not date_add (the shop's own order date), not
    # date_in_status (a later status: a second event of the same order).
    orders = [e for e in seen(result.events) if e.id.startswith("oms:order:") and ":added:" in e.id]
    assert [e.time for e in orders] == [
        datetime.fromtimestamp(o["date_confirmed"], UTC) for o in baselinker.orders
    ]
    assert [e.state for e in orders] == ["8001", "8001", None]  # 7789's first status unknown
    moved = [e for e in seen(result.events) if e.id.startswith("oms:order:7789:8002:")]
    assert [e.time for e in moved] == [datetime.fromtimestamp(1795605600 + 1680, UTC)]
    assert moved[0].state == "8002"
    assert [e.refs for e in orders] == [
        {"oms": "7787", "shop": "100041"},
        {"oms": "7788", "shop": "100043"},  # from shop_order_id: external_order_id is empty
        {"oms": "7789", "shop": "100045"},
    ]
    assert orders[2].data is not None
    assert orders[2].data["total"] == "199.00"  # 2 x 92 + 15 delivery
    assert orders[2].data["lines"] == 1
    assert orders[2].data["currency"] == "PLN"
    assert orders[2].data["skus"] == {"ABC-1": 2}
    journal = [e for e in seen(result.events) if e.id.startswith("oms:journal:")]
    assert [(e.refs, e.state) for e in journal] == [
        ({"oms": "7789"}, None),
        ({"oms": "7788"}, "8003"),
        ({"oms": "7788"}, None),
    ]
    assert result.cursor["journal"] == {"last_log_id": 654303}
    assert "stock: no inventory_id configured, stock is not polled" in result.notes
    method, parameters, token = baselinker.calls[0]
    assert (method, token) == ("getOrders", "3001-xyz")
    assert parameters["date_confirmed_from"] == int(deps["clock"]().timestamp()) - 86400
    calls = [e for e in result.events if e.kind == "call"]
    assert {c.data["request"] for c in calls if c.data} == {
        "POST /connector.php getOrders",
        "POST /connector.php getJournalList",
    }
    assert result.rate_limit is not None
    assert result.rate_limit.limit == 100
    assert result.rate_limit.remaining == 100 - len(calls)


async def test_paging_on_date_confirmed_and_resume_without_duplicates(
    router: respx.Router, baselinker: FakeBaseLinker, deps: dict[str, Any], clock: Clock
) -> None:
    baselinker.per_call = 2
    router.post(ENDPOINT).mock(side_effect=baselinker.handle)
    connector = make(deps)
    connector.orders_per_call = 2

    first = await connector.poll(None)
    assert [e.refs["oms"] for e in seen(first.events) if ":added:" in e.id] == [
        "7787",
        "7788",
        "7789",
    ]
    froms = [p["date_confirmed_from"] for m, p, _ in baselinker.calls if m == "getOrders"]
    assert len(froms) == 3  # two full pages, then a short one
    assert froms == sorted(froms)

    # A new order confirmed in the same second as the last one, and a journal entry.
    new = dict(baselinker.orders[2], order_id=7790, external_order_id="100046")
    baselinker.orders.append(new)
    baselinker.logs.append(
        {
            "id": 654304,
            "order_id": 7790,
            "log_type": 18,
            "object_id": 8002,
            "date": new["date_confirmed"],
        }
    )
    clock.advance(60)
    restarted = make(deps)
    restarted.orders_per_call = 2
    second = await restarted.poll(first.cursor)
    assert [e.id.split(":")[1:3] for e in seen(second.events)] == [
        ["order", "7790"],
        ["journal", "654304"],
    ]


@pytest.mark.usefixtures("served")
async def test_http_200_error_bodies_are_translated(
    baselinker: FakeBaseLinker, deps: dict[str, Any]
) -> None:
    baselinker.overrides["getOrders"] = lambda: bl(load("baselinker", "error_bad_token.json"))

    with pytest.raises(AuthError) as caught:
        await make(deps).poll(None)
    assert caught.value.code == "ERROR_BAD_TOKEN"
    [call] = caught.value.events
    assert call.outcome is not None
    assert call.outcome.status == 200
    assert "ERROR_BAD_TOKEN: Invalid user token" in (call.outcome.error or "")

    baselinker.overrides["getOrders"] = lambda: bl(load("baselinker", "error_bad_parameter.json"))
    result = await make(deps).poll(None)
    assert any("ERROR_UNKNOWN_PARAMETER" in n for n in result.notes)
    assert "orders" not in result.cursor


@pytest.mark.usefixtures("served")
async def test_journal_not_enabled_is_said_in_notes(
    baselinker: FakeBaseLinker, deps: dict[str, Any]
) -> None:
    baselinker.overrides["getJournalList"] = lambda: bl(
        load("baselinker", "getJournalList_not_enabled.json")
    )
    result = await make(deps).poll(None)
    assert any("journal (getJournalList) is not enabled" in n for n in result.notes)
    assert len([e for e in seen(result.events) if ":added:" in e.id]) == 3

    baselinker.overrides["getJournalList"] = lambda: bl({"status": "SUCCESS"})
    result = await make(deps).poll(None)
    assert any("is not enabled" in n and "no logs list" in n for n in result.notes)

    baselinker.overrides["getJournalList"] = lambda: httpx.Response(200, text="")
    result = await make(deps).poll(None)
    assert any("is not enabled" in n and "empty body" in n for n in result.notes)

    baselinker.overrides["getJournalList"] = lambda: bl(
        load("baselinker", "getJournalList_empty.json")
    )
    result = await make(deps).poll(None)
    assert any(n.startswith("journal: no entries yet") for n in result.notes)


@pytest.mark.usefixtures("served")
async def test_stock_per_sku_from_inventory(deps: dict[str, Any], clock: Clock) -> None:
    result = await make(deps, inventory_id="306").poll(None)
    stock = {e.refs["sku"]: e.quantity for e in seen(result.events, "stock")}
    assert stock == {"ABC-1": 12, "ABC-2": 0}

    only = await make(deps, inventory_id="306", warehouse_id="bl_1").poll(None)
    assert {e.refs["sku"]: e.quantity for e in seen(only.events, "stock")}["ABC-1"] == 10

    clock.advance(120)
    again = await make(deps, inventory_id="306").poll(result.cursor)
    assert seen(again.events, "stock") == []


@pytest.mark.usefixtures("served")
async def test_token_bucket_paces_before_the_vendor_limit(
    deps: dict[str, Any], sleeps: Sleeps
) -> None:
    ticks = [0.0]
    bucket = TokenBucket(
        capacity=1, rate=0.5, limit=100, window_seconds=60, monotonic=lambda: ticks[0]
    )

    await make(deps, limiter=bucket).poll(None)  # getOrders + getJournalList: 2 calls

    assert sleeps.delays == [2.0]


async def test_no_sixty_second_window_holds_more_than_100_calls(sleeps: Sleeps) -> None:
    now = [0.0]
    bucket = TokenBucket(
        capacity=10, rate=90 / 60, limit=100, window_seconds=60, monotonic=lambda: now[0]
    )

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    stamps = []
    for _ in range(250):
        await bucket.acquire(sleep)
        stamps.append(now[0])
    worst = max(sum(1 for t in stamps if start <= t < start + 60) for start in stamps)
    assert worst <= 100


async def test_429_and_5xx_from_connector_php(
    router: respx.Router, baselinker: FakeBaseLinker, deps: dict[str, Any], sleeps: Sleeps
) -> None:
    router.post(ENDPOINT).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "5"}),
            httpx.Response(502),
            baselinker.handle,
            baselinker.handle,
        ]
    )
    result = await make(deps).poll(None)
    assert sleeps.delays[0] == 5.0
    assert [e.outcome.status for e in result.events if e.outcome][:3] == [429, 502, 200]

    router.post(ENDPOINT).mock(
        side_effect=None, return_value=httpx.Response(429, headers={"Retry-After": "600"})
    )
    with pytest.raises(RateLimited):
        await make(deps).poll(None)


@pytest.mark.usefixtures("served")
async def test_malformed_json_is_evidence(baselinker: FakeBaseLinker, deps: dict[str, Any]) -> None:
    baselinker.overrides["getOrders"] = lambda: httpx.Response(200, text='{"status": "SUCC')

    result = await make(deps).poll(None)

    [bad] = [e for e in result.events if e.data and e.data.get("request", "").endswith("getOrders")]
    assert bad.outcome is not None
    assert "malformed JSON" in (bad.outcome.error or "")
    assert any(n.startswith("orders: ProtocolError") for n in result.notes)

    baselinker.overrides["getJournalList"] = lambda: httpx.Response(200, text="<br />")
    with pytest.raises(ProtocolError):
        await make(deps).poll(None)


@pytest.mark.usefixtures("served")
async def test_test_connection(baselinker: FakeBaseLinker, deps: dict[str, Any]) -> None:
    baselinker.overrides["getJournalList"] = lambda: bl(
        load("baselinker", "getJournalList_not_enabled.json")
    )
    checks = await make(deps).test()
    assert [(c.name, c.ok) for c in checks] == [
        ("token", True),
        ("journal", False),
        ("inventory", False),
    ]
    assert "306 (Default)" in checks[2].detail


async def test_marketplace_orders_are_namespaced_by_their_source(
    router: respx.Router, baselinker: FakeBaseLinker, deps: dict[str, Any]
) -> None:
    baselinker.orders = load("baselinker", "getOrders_marketplace.json")["orders"]
    router.post(ENDPOINT).mock(side_effect=baselinker.handle)

    result = await make(deps, order_source_id="4012").poll(None)

    arrivals = {e.refs["oms"]: e for e in seen(result.events) if ":added:" in e.id}
    # Amazon's order id is Amazon's, not the shop's: it must not join a shop journey.
    assert arrivals["1630473"].refs == {"oms": "1630473", "amazon:2598": "534534234"}
    # Another shop connected to the same BaseLinker account is not the monitored shop.
    assert arrivals["1630480"].refs == {"oms": "1630480", "shop:777": "3100"}
    assert arrivals["1630481"].refs == {"oms": "1630481", "shop": "100050"}
    amazon = arrivals["1630473"].data
    assert amazon is not None
    assert (amazon["total"], amazon["currency"], amazon["lines"]) == ("50.00", "GBP", 1)
    assert amazon["skus"] == {"LU4235": 2}
    own = arrivals["1630481"].data
    assert own is not None
    # 50 + 3 x 24.50 + 15 delivery; delivery is in the total, not a line.
    assert (own["total"], own["lines"], own["skus"]) == ("138.50", 2, {"ABC-1": 1, "ABC-2": 3})

    # Without the shop's source id configured, every "shop" source joins the shop's journeys.
    loose = await make(deps).poll(None)
    refs = [e.refs for e in seen(loose.events) if ":added:" in e.id]
    assert {"oms": "1630480", "shop": "3100"} in refs


@pytest.mark.usefixtures("served")
async def test_blocked_token_is_rate_limiting_not_bad_credentials(
    baselinker: FakeBaseLinker, deps: dict[str, Any], sleeps: Sleeps
) -> None:
    baselinker.overrides["getOrders"] = lambda: bl(load("baselinker", "error_blocked_token.json"))

    with pytest.raises(RateLimited) as caught:
        await make(deps).poll(None)

    assert caught.value.code == "ERROR_BLOCKED_TOKEN"
    # Longer than one round sleeps through: the poller backs off, the token is not hammered.
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 120
    assert [m for m, _, _ in baselinker.calls] == ["getOrders"]
    assert sleeps.delays == []


async def test_journal_reads_log_id_and_warns_about_unknown_shapes(
    router: respx.Router, baselinker: FakeBaseLinker, deps: dict[str, Any], clock: Clock
) -> None:
    clock.now = datetime.fromtimestamp(1795600100, UTC)
    payload = load("baselinker", "getJournalList_log_id.json")
    router.post(ENDPOINT).mock(side_effect=baselinker.handle)
    baselinker.overrides["getJournalList"] = lambda: bl(payload)

    result = await make(deps).poll(None)

    journal = [e for e in seen(result.events) if ":journal:" in e.id]
    assert [(e.id, e.state) for e in journal] == [
        ("oms:journal:456269", None),
        ("oms:journal:456270", "8003"),
    ]
    assert result.cursor["journal"] == {"last_log_id": 456270}
    assert result.warnings == []

    payload["logs"] = [{"entry": 1, "order_id": 6911942, "log_type": 18, "date": 1795600090}]
    odd = await make(deps).poll(result.cursor)
    assert any("neither log_id nor id" in w for w in odd.warnings)


@pytest.mark.usefixtures("served")
async def test_variants_are_read_and_parents_without_sku_are_not_relisted(
    baselinker: FakeBaseLinker, deps: dict[str, Any], clock: Clock
) -> None:
    for method in ("getInventoryProductsStock", "getInventoryProductsList"):
        name = f"{method}_variants.json"
        baselinker.overrides[method] = lambda name=name: bl(load("baselinker", name))

    connector = make(deps, inventory_id="306")
    result = await connector.poll(None)

    stock = {e.refs["sku"]: e.quantity for e in seen(result.events, "stock")}
    assert stock == {"ABC-1": 10, "TS-M": 3, "TS-L": 0}
    methods = [m for m, _, _ in baselinker.calls]
    assert methods.count("getInventoryProductsList") == 1
    [data_call] = [p for m, p, _ in baselinker.calls if m == "getInventoryProductsData"]
    assert data_call["products"] == [600]

    baselinker.calls.clear()
    clock.advance(60)
    await connector.poll(result.cursor)
    methods = [m for m, _, _ in baselinker.calls]
    assert "getInventoryProductsList" not in methods  # the SKU-less parent is remembered
    assert "getInventoryProductsData" not in methods
