"""The integrations move orders and stock between the imitations over real loopback sockets,
and report valid CONTRACT events to Arbiter."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from graph.model import Event
from sandbox import traffic
from sandbox.baselinker import order_json as bl_order_json
from sandbox.stores import Charge, Line, percent_discount
from sandbox.woo_auth import SignedQuery
from sandbox.woo_format import order_json as woo_order_json
from sandbox.world import World
from tests.sandbox.conftest import FakeArbiter, RunSandbox, eventually

pytestmark = pytest.mark.asyncio


async def test_order_travels_shop_oms_erp(run_sandbox: RunSandbox, arbiter: FakeArbiter) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        placed = await client.post(
            f"{control}/orders",
            json={
                "lines": [{"sku": "ABC-1", "quantity": 2}, {"sku": "TEA-10", "quantity": 1}],
                "wait_seconds": 5,
            },
        )
        assert placed.status_code == 201
        order = placed.json()
        assert order["shop"]["number"] == "1001"
        assert order["oms"]["order_id"] == 3001001
        assert order["erp"]["name"] == "S01001"
        # The wait ends once the ERP holds the order; the OMS marks it sent a moment after.
        assert await eventually(lambda: _oms_status_is(client, control, "1001", "Sent to ERP"))
        sale = sandbox.world.erp.orders_by_ref()["3001001"]
        shop_order = sandbox.world.shop.orders[1001]
        # cash on delivery: the products, a flat-rate shipping line and the COD fee
        assert shop_order.status == "processing"
        assert [c.method_id for c in shop_order.shipping] == ["flat_rate"]
        assert shop_order.fee_total == Decimal("5.00")
        assert sale["amount_total"] == float(shop_order.total) > 84.3
        await eventually(lambda: arbiter.calls(target="erp", flow="order"))

    assert not arbiter.invalid
    pull = [e for e in arbiter.calls(target="shop", flow="order") if e.get("refs")]
    assert pull[0]["system"] == "oms"
    assert pull[0]["refs"] == {"oms": "3001001", "shop": "1001"}
    push = arbiter.calls(target="erp", flow="order")
    assert push[0]["refs"] == {"oms": "3001001", "shop": "1001"}
    assert push[0]["outcome"]["status"] == 200
    assert push[0]["id"] == "sbx-t-oms-erp-order-3001001-1"
    lists = [e for e in arbiter.calls(target="shop", flow="order") if "refs" not in e]
    assert lists
    assert all(e["outcome"]["status"] == 200 for e in lists)
    for event in arbiter.events:
        Event.model_validate(event)
    assert len({e["id"] for e in arbiter.events}) == len(arbiter.events)


async def test_stock_travels_erp_oms_shop(run_sandbox: RunSandbox, arbiter: FakeArbiter) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        await client.post(f"{control}/stock", json={"sku": "KTL-1", "quantity": 3})
        levels = await eventually(lambda: _stock_is(client, control, "KTL-1", 3), timeout=5)
        assert levels == {"erp": 3, "oms": 3, "shop": 3, "magento": levels["magento"]}
        await eventually(lambda: arbiter.calls(target="shop", flow="stock"))
    pulled = [
        e for e in arbiter.calls(target="erp", flow="stock") if e.get("refs") == {"sku": "KTL-1"}
    ]
    assert pulled
    assert pulled[0]["data"] == {"quantity": 3}
    pushed = arbiter.calls(target="shop", flow="stock")
    assert pushed[0]["refs"] == {"sku": "KTL-1"}
    assert pushed[0]["outcome"]["status"] == 200
    assert not arbiter.invalid


async def _oms_status_is(client: httpx.AsyncClient, control: str, number: str, status: str) -> bool:
    order = (await client.get(f"{control}/orders/{number}")).json()
    return bool(order["oms"]["status"] == status)


async def _stock_is(
    client: httpx.AsyncClient, control: str, sku: str, quantity: int
) -> dict[str, int] | None:
    levels: dict[str, int] = (await client.get(f"{control}/stock")).json()[sku]
    return levels if levels["shop"] == quantity else None


async def test_report_seen_events_carry_contract_refs(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    async with run_sandbox(report_seen=True) as sandbox, httpx.AsyncClient() as client:
        await client.post(f"{sandbox.world.url('control')}/orders", json={"wait_seconds": 5})
        await eventually(
            lambda: [
                e
                for e in arbiter.events
                if e["kind"] == "seen" and e["system"] == "erp" and e["flow"] == "order"
            ]
        )
    seen = {(e["system"], e["flow"]): e for e in arbiter.events if e["kind"] == "seen"}
    assert seen[("shop", "order")]["refs"] == {"shop": "1001"}
    assert seen[("oms", "order")]["refs"] == {"oms": "3001001", "shop": "1001"}
    assert seen[("erp", "order")]["refs"] == {"erp": "S01001", "oms": "3001001"}
    assert seen[("shop", "order")]["data"]["total"] == seen[("erp", "order")]["data"]["total"]
    stock = [e for e in arbiter.events if e["kind"] == "seen" and e["flow"] == "stock"]
    assert {e["system"] for e in stock} == {"shop", "oms", "erp"}
    assert all(set(e["refs"]) == {"sku"} and isinstance(e["quantity"], int) for e in stock)
    assert not arbiter.invalid


async def test_reporter_keeps_events_while_arbiter_is_unavailable(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    arbiter.answer_status = 503
    async with run_sandbox(reporter_flush_seconds=0.05) as sandbox, httpx.AsyncClient() as client:
        await client.post(f"{sandbox.world.url('control')}/orders", json={"wait_seconds": 5})
        await eventually(lambda: sandbox.world.reporter.failures >= 1)
        assert sandbox.world.reporter.pending > 0
        # the integrations keep calling (and reporting) while we wait, so the buffer is seldom
        # empty at the instant it is looked at: what counts is that what waited got through
        waited = {event["id"] for event in sandbox.world.reporter.recent}
        arbiter.answer_status = None
        await eventually(
            lambda: waited <= {event["id"] for event in arbiter.events},
            timeout=10,  # the reporter may be in a backoff of a few seconds when Arbiter returns
        )
    assert arbiter.calls(target="erp", flow="order")
    assert sandbox.world.reporter.stats()["dropped"] == 0


async def test_unpaid_orders_wait_and_cancelled_ones_never_travel(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    async with run_sandbox(report_seen=True) as sandbox:
        world = sandbox.world
        shop = world.shop
        on_hold = traffic.place_order(world, payment_method="bacs")
        pending = traffic.place_order(world, payment_method="przelewy24")
        doomed = traffic.place_order(world, payment_method="bacs")
        assert (on_hold.status, pending.status) == ("on-hold", "pending")
        assert on_hold.date_paid is None
        await eventually(lambda: world.integration("order shop→oms").runs >= 3)
        assert world.oms.orders == {}, "BaseLinker imports only the statuses it is set to take"
        shop.set_order_status(doomed, "cancelled", world.clock())
        shop.set_order_status(pending, "failed", world.clock())
        traffic.schedule_payment(world, on_hold, 0, "processing")  # the bank transfer arrives
        assert traffic.settle_payments(world) == 1
        assert on_hold.status == "processing"
        assert on_hold.date_paid is not None
        bl = await eventually(lambda: world.oms.by_shop_order(on_hold.id))
        await eventually(lambda: world.erp.orders_by_ref().get(str(bl.order_id)))
        runs = world.integration("order shop→oms").runs
        await eventually(lambda: world.integration("order shop→oms").runs >= runs + 3)
        assert [o.shop_order_id for o in world.oms.orders.values()] == [on_hold.id]
        async with httpx.AsyncClient() as client:
            counts = (await client.get(world.url("control") + "/state")).json()["counts"]
        assert counts["shop_orders_by_status"] == {"processing": 1, "cancelled": 1, "failed": 1}
        assert counts["shop_orders_by_payment"] == {"bacs": 2, "przelewy24": 1}
        assert counts["payments_due"] == 0
        await eventually(lambda: _shop_states(arbiter, on_hold.number) >= {"processing"})
    assert _shop_states(arbiter, on_hold.number) == {"on-hold", "processing"}
    assert _shop_states(arbiter, doomed.number) == {"on-hold", "cancelled"}
    assert _shop_states(arbiter, pending.number) == {"pending", "failed"}


def _shop_states(arbiter: FakeArbiter, number: str) -> set[str]:
    return {
        e["state"]
        for e in arbiter.events
        if e["kind"] == "seen" and e["system"] == "shop" and e["refs"] == {"shop": number}
    }


async def test_a_payment_settled_late_leaves_an_order_someone_moved_on(world: World) -> None:
    order = traffic.place_order(world, payment_method="bacs")
    world.shop.set_order_status(order, "cancelled", world.clock())
    traffic.schedule_payment(world, order, -1, "processing")
    assert traffic.settle_payments(world) == 0
    assert order.status == "cancelled"
    later = traffic.place_order(world, payment_method="bacs")
    traffic.schedule_payment(world, later, 3600, "processing")
    assert traffic.settle_payments(world) == 0
    world.clock = lambda: later.date_created + timedelta(hours=2)
    assert traffic.settle_payments(world) == 1


async def test_shipping_fees_and_coupons_add_up_in_every_system(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    async with run_sandbox(report_seen=True) as sandbox:
        world = sandbox.world
        lines = [
            world.shop.line_for(world.shop.product_by_sku("CUP-6"), 3),  # type: ignore[arg-type]
            world.shop.line_for(world.shop.product_by_sku("TSH-M"), 1),  # type: ignore[arg-type]
        ]
        lines = percent_discount(lines, 10)
        order = world.shop.create_order(
            lines,
            world.clock(),
            payment_method="cod",
            shipping=[Charge("Kurier DPD", Decimal("16.99"), "flat_rate")],
            fees=[Charge("Opłata za pobranie", Decimal("5.00"))],
            coupon="JESIEN10",
        )
        # 3 x 89.99 less 3 x 8.99, 79.00 less 7.90; shipping and fee on top
        assert order.discount_total == Decimal("34.87")
        assert order.total == Decimal("269.97") + Decimal("79.00") - Decimal("34.87") + Decimal(
            "21.99"
        )
        woo = woo_order_json(order, "http://shop.test")
        assert woo["total"] == f"{order.total:.2f}"
        assert woo["discount_total"] == "34.87"
        assert woo["shipping_total"] == "16.99"
        assert [f["total"] for f in woo["fee_lines"]] == ["5.00"]
        assert woo["coupon_lines"][0]["code"] == "JESIEN10"
        tshirt = woo["line_items"][1]
        assert tshirt["variation_id"] == world.shop.product_by_sku("TSH-M").id  # type: ignore[union-attr]
        assert tshirt["product_id"] == world.shop.product_by_sku("TSH").id  # type: ignore[union-attr]
        bl = await eventually(lambda: world.oms.by_shop_order(order.id))
        sale = await eventually(lambda: world.erp.orders_by_ref().get(str(bl.order_id)))
        oms = bl_order_json(bl, world)
        products = sum(p["price_brutto"] * p["quantity"] for p in oms["products"])
        assert oms["delivery_price"] == 21.99
        assert round(products + oms["delivery_price"], 2) == float(order.total)
        assert len(oms["products"]) == 2
        assert sale["amount_total"] == float(order.total)
        erp_lines = [
            line
            for line in world.erp.db.tables["sale.order.line"].values()
            if line["order_id"] == sale["id"]
        ]
        assert [line["is_delivery"] for line in erp_lines] == [False, False, True]
        await eventually(lambda: _order_seen(arbiter, "erp"))
    facts = {system: _order_seen(arbiter, system) for system in ("shop", "oms", "erp")}
    assert {f["total"] for f in facts.values()} == {f"{order.total:.2f}"}
    assert {f["lines"] for f in facts.values()} == {2}
    assert all(f["skus"] == {"CUP-6": 3, "TSH-M": 1} for f in facts.values())


def _order_seen(arbiter: FakeArbiter, system: str) -> dict[str, Any] | None:
    found = [
        e["data"]
        for e in arbiter.events
        if e["kind"] == "seen" and e["system"] == system and e["flow"] == "order"
    ]
    return found[-1] if found else None


async def test_variations_have_their_own_stock_and_get_it_pushed(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        world = sandbox.world
        auth = SignedQuery(world.config.woo.consumer_key, world.config.woo.consumer_secret)
        api = world.url("shop") + "/wp-json/wc/v3"
        listed = (await client.get(f"{api}/products", auth=auth)).json()
        parent = next(p for p in listed if p["sku"] == "TSH")
        assert parent["type"] == "variable"
        assert parent["manage_stock"] is False
        assert not any(p["type"] == "variation" for p in listed)
        variations = (
            await client.get(f"{api}/products/{parent['id']}/variations", auth=auth)
        ).json()
        assert [v["sku"] for v in variations] == ["TSH-S", "TSH-M", "TSH-L"]
        await client.post(f"{world.url('control')}/stock", json={"sku": "TSH-M", "quantity": 4})
        await eventually(lambda: _stock_is(client, world.url("control"), "TSH-M", 4), timeout=5)
        await eventually(lambda: arbiter.calls(target="shop", flow="stock"))
    pushed = arbiter.calls(target="shop", flow="stock")
    assert pushed[-1]["refs"] == {"sku": "TSH-M"}
    assert pushed[-1]["outcome"]["status"] == 200
    assert pushed[-1]["data"] == {"quantity": 4}


async def test_percent_coupon_keeps_whole_cents_per_unit() -> None:
    lines = percent_discount([Line("CUP-6", "Cups", 3, Decimal("89.99"))], 10)
    assert lines[0].discount == Decimal("26.97")
    assert lines[0].total == Decimal("243.00")
    assert lines[0].total / 3 == Decimal("81.00")


async def test_the_shop_ships_the_order_paid_longest_ago_not_a_fresh_one(world: World) -> None:
    orders = [traffic.place_order(world) for _ in range(7)]
    start = orders[0].date_created
    orders[0].date_paid = start + timedelta(seconds=5)  # paid after the others
    traffic.complete_an_old_order(world)
    assert all(o.status == "processing" for o in orders), "nothing has had time to ship"
    world.clock = lambda: start + timedelta(minutes=5)
    traffic.complete_an_old_order(world)
    assert [o.status for o in orders[:2]] == ["processing", "completed"]
