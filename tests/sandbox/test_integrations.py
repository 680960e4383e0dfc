"""The integrations move orders and stock between the imitations over real loopback sockets,
and report valid CONTRACT events to Arbiter."""

from __future__ import annotations

import httpx
import pytest

from graph.model import Event
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
        assert order["oms"]["status"] == "Sent to ERP"
        sale = sandbox.world.erp.orders_by_ref()["3001001"]
        assert sale["amount_total"] == 84.3
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
        arbiter.answer_status = None
        await eventually(lambda: sandbox.world.reporter.pending == 0, timeout=5)
    assert arbiter.calls(target="erp", flow="order")
    assert sandbox.world.reporter.stats()["dropped"] == 0
