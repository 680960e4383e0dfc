"""Each fault kind changes what the systems answer and what the integrations do and report."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from sandbox import Sandbox
from sandbox.faults import FaultError, FaultRegistry
from sandbox.world import World
from tests.sandbox.conftest import FakeArbiter, RunSandbox, eventually

pytestmark = pytest.mark.asyncio


async def _fault(client: httpx.AsyncClient, control: str, **spec: Any) -> str:
    answer = await client.post(f"{control}/faults", json=spec)
    assert answer.status_code == 201, answer.text
    fault_id: str = answer.json()["id"]
    return fault_id


Faulted = Callable[
    ..., contextlib.AbstractAsyncContextManager[tuple[Sandbox, httpx.AsyncClient, str]]
]


@pytest.fixture
def faulted(run_sandbox: RunSandbox) -> Faulted:
    """Start the sandbox (``config``: its settings) with one fault injected through its control
    API (``kind``, ``target``, its ``params``); yield it, a client and the control API's address."""

    @contextlib.asynccontextmanager
    async def start(
        kind: str, target: str, config: dict[str, Any] | None = None, **params: Any
    ) -> AsyncIterator[tuple[Sandbox, httpx.AsyncClient, str]]:
        async with run_sandbox(**(config or {})) as sandbox, httpx.AsyncClient() as client:
            control = sandbox.world.url("control")
            await _fault(client, control, kind=kind, target=target, **params)
            yield sandbox, client, control

    return start


async def _order(client: httpx.AsyncClient, control: str, wait: float = 0.0) -> dict[str, Any]:
    body: dict[str, Any] = (
        await client.post(
            f"{control}/orders",
            json={"lines": [{"sku": "ABC-1", "quantity": 1}], "wait_seconds": wait},
        )
    ).json()
    return body


def _pushes(arbiter: FakeArbiter, oms_id: int) -> list[dict[str, Any]]:
    return [
        e
        for e in arbiter.calls(target="erp", flow="order")
        if e.get("refs", {}).get("oms") == str(oms_id)
    ]


async def test_erp_down_then_back(run_sandbox: RunSandbox, arbiter: FakeArbiter) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        fault = await _fault(client, control, kind="down", target="erp")
        assert (
            await client.post(sandbox.world.url("erp") + "/jsonrpc", json={})
        ).status_code == 503
        order = await _order(client, control)
        await eventually(lambda: len(_pushes(arbiter, 3001001)) >= 2)
        assert {e["outcome"]["status"] for e in _pushes(arbiter, 3001001)} == {503}
        assert (await client.get(f"{control}/orders/1001")).json()["erp"] is None
        assert (await client.delete(f"{control}/faults/{fault}")).status_code == 204
        done = await eventually(lambda: _erp_of(client, control, order["shop"]["number"]))
        assert done["name"] == "S01001"
        await eventually(lambda: _pushes(arbiter, 3001001)[-1]["outcome"]["status"] == 200)


async def test_erp_outage_ends_by_itself_and_the_backlog_is_replayed(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        answer = await client.post(
            f"{control}/faults", json={"kind": "outage", "target": "erp", "duration_seconds": 1.5}
        )
        assert answer.status_code == 201
        assert answer.json()["expires_at"] is not None
        assert sandbox.world.is_down("erp")
        first = await _order(client, control)
        second = await _order(client, control)
        await eventually(lambda: len(_pushes(arbiter, 3001002)) >= 2)
        assert {e["outcome"]["status"] for e in _pushes(arbiter, 3001001)} == {503}
        # nobody clears it: the ERP comes back, and the OMS pushes what it held back
        for order in (first, second):
            done = await eventually(lambda o=order: _erp_of(client, control, o["shop"]["number"]))
            assert done["state"] == "sale"
        assert not sandbox.world.is_down("erp")
        assert (await client.get(f"{control}/faults")).json()["faults"] == []
    for oms_id in (3001001, 3001002):
        statuses = [e["outcome"]["status"] for e in _pushes(arbiter, oms_id)]
        assert statuses[-1] == 200
        assert set(statuses[:-1]) == {503}


async def _erp_of(client: httpx.AsyncClient, control: str, number: str) -> dict[str, Any] | None:
    erp: dict[str, Any] | None = (await client.get(f"{control}/orders/{number}")).json()["erp"]
    return erp


async def test_reject_is_a_422_and_not_retried(faulted: Faulted, arbiter: FakeArbiter) -> None:
    vat = "Missing VAT number"
    async with faulted("reject", "erp", ratio=1.0, message=vat) as (sandbox, client, control):
        await _order(client, control)
        trace = await eventually(lambda: _oms_status(client, control, "1001", "ERP error"))
        assert trace["erp"] is None
        await eventually(lambda: sandbox.world.integration("order oms→erp").runs >= 5)
    (push,) = _pushes(arbiter, 3001001)
    assert push["outcome"]["status"] == 422
    assert push["outcome"]["error"] == "odoo.exceptions.ValidationError: Missing VAT number"


async def _oms_status(
    client: httpx.AsyncClient, control: str, number: str, status: str
) -> dict[str, Any] | None:
    trace: dict[str, Any] = (await client.get(f"{control}/orders/{number}")).json()
    return trace if trace["oms"] and trace["oms"]["status"] == status else None


async def test_throttle_answers_429_with_retry_after(
    faulted: Faulted, arbiter: FakeArbiter
) -> None:
    async with faulted("throttle", "erp", retry_after=1) as (sandbox, client, control):
        direct = await client.post(sandbox.world.url("erp") + "/jsonrpc", json={})
        assert direct.status_code == 429
        assert direct.headers["Retry-After"] == "1"
        await _order(client, control)
        await eventually(lambda: _pushes(arbiter, 3001001))
        await client.delete(f"{control}/faults")
        await eventually(lambda: _erp_of(client, control, "1001"), timeout=5)
        # the ERP books the order before the OMS hears its answer and reports the call
        await eventually(lambda: _pushes(arbiter, 3001001)[-1]["outcome"]["status"] == 200)
    statuses = [e["outcome"]["status"] for e in _pushes(arbiter, 3001001)]
    assert statuses[0] == 429
    assert statuses[-1] == 200


async def test_token_expired_on_erp_is_401(faulted: Faulted, arbiter: FakeArbiter) -> None:
    async with faulted("token_expired", "erp") as (_sandbox, client, control):
        await _order(client, control)
        await eventually(lambda: _pushes(arbiter, 3001001))
    push = _pushes(arbiter, 3001001)[0]
    assert push["outcome"]["status"] == 401
    assert push["outcome"]["error"].startswith("odoo.exceptions.AccessDenied")


async def test_lost_order_is_acknowledged_but_never_stored(
    faulted: Faulted, arbiter: FakeArbiter
) -> None:
    async with faulted("lost", "erp") as (_sandbox, client, control):
        await _order(client, control)
        await eventually(lambda: _oms_status(client, control, "1001", "Sent to ERP"))
        assert (await client.get(f"{control}/orders/1001")).json()["erp"] is None
        assert (await client.get(f"{control}/state")).json()["counts"]["erp_lost"] == 1
    (push,) = _pushes(arbiter, 3001001)
    assert push["outcome"]["status"] == 200


async def test_slow_booking_appears_only_after_the_delay(
    faulted: Faulted, arbiter: FakeArbiter
) -> None:
    async with faulted("slow", "erp", delay_seconds=1.0) as (_sandbox, client, control):
        await _order(client, control)
        await eventually(lambda: _oms_status(client, control, "1001", "Sent to ERP"))
        assert (await client.get(f"{control}/orders/1001")).json()["erp"] is None
        booked = await eventually(lambda: _erp_of(client, control, "1001"), timeout=3)
        assert booked["name"] == "S01001"


async def test_shop_and_oms_down(faulted: Faulted, arbiter: FakeArbiter) -> None:
    async with faulted("down", "shop") as (sandbox, client, control):
        assert (
            await client.get(sandbox.world.url("shop") + "/wp-json/wc/v3/orders")
        ).status_code == 503
        await eventually(
            lambda: [
                e
                for e in arbiter.calls(target="shop", flow="order")
                if e["outcome"]["status"] == 503
            ]
        )
        await client.delete(f"{control}/faults")
        await _fault(client, control, kind="down", target="oms")
        bl = await client.post(
            sandbox.world.url("oms") + "/connector.php", data={"method": "getOrders"}
        )
        assert bl.status_code == 503
        await eventually(lambda: sandbox.world.integration("order shop→oms").runs >= 3)
        await sandbox.world.reporter.flush()
        before = len(arbiter.events)
        await _order(client, control)
        await eventually(lambda: sandbox.world.integration("order shop→oms").runs >= 8)
        await sandbox.world.reporter.flush()
        # an OMS that is down runs no integration and so reports nothing
        assert len(arbiter.events) == before


async def test_wrong_stock_pushes_a_transformed_quantity(
    faulted: Faulted, arbiter: FakeArbiter
) -> None:
    async with faulted("wrong_stock", "oms", delta=5) as (_sandbox, client, control):
        await client.post(f"{control}/stock", json={"sku": "CUP-6", "quantity": 2})
        levels = await eventually(
            lambda: _levels_when(
                client, control, "CUP-6", lambda lv: lv["oms"] == 2 and lv["shop"] != 9
            )
        )
        assert (levels["erp"], levels["oms"], levels["shop"]) == (2, 2, 7)
        await eventually(lambda: _stock_pushes(arbiter, "CUP-6"))
    assert _stock_pushes(arbiter, "CUP-6")[0]["data"] == {"quantity": 7}


def _stock_pushes(arbiter: FakeArbiter, sku: str) -> list[dict[str, Any]]:
    return [e for e in arbiter.calls(target="shop", flow="stock") if e["refs"] == {"sku": sku}]


async def _levels_when(
    client: httpx.AsyncClient, control: str, sku: str, test: Any
) -> dict[str, int] | None:
    levels: dict[str, int] = (await client.get(f"{control}/stock")).json()[sku]
    return levels if test(levels) else None


async def test_stale_stock_stops_the_push(run_sandbox: RunSandbox, arbiter: FakeArbiter) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        shop_before = (await client.get(f"{control}/stock")).json()["BAG-3"]["shop"]
        await _fault(client, control, kind="stale_stock", target="oms")
        await client.post(f"{control}/stock", json={"sku": "BAG-3", "quantity": shop_before + 9})
        await eventually(
            lambda: _levels_when(client, control, "BAG-3", lambda lv: lv["oms"] == shop_before + 9)
        )
        await eventually(lambda: sandbox.world.integration("stock oms→shop").runs >= 5)
        assert (await client.get(f"{control}/stock")).json()["BAG-3"]["shop"] == shop_before
    assert not arbiter.calls(target="shop", flow="stock")


async def test_shop_rejects_or_loses_stock_updates(
    run_sandbox: RunSandbox, arbiter: FakeArbiter
) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        rejecting = await _fault(client, control, kind="reject", target="shop")
        await client.post(f"{control}/stock", json={"sku": "SPN-12", "quantity": 1})
        await eventually(lambda: arbiter.calls(target="shop", flow="stock"))
        rejected = arbiter.calls(target="shop", flow="stock")[0]
        assert rejected["outcome"]["status"] == 400
        await client.delete(f"{control}/faults/{rejecting}")
        await _fault(client, control, kind="lost", target="shop")
        await client.post(f"{control}/stock", json={"sku": "SPN-12", "quantity": 4})
        await eventually(lambda: len(arbiter.calls(target="shop", flow="stock")) >= 2)
        lost = arbiter.calls(target="shop", flow="stock")[1]
        assert lost["outcome"]["status"] == 200
        assert lost["data"] == {"quantity": 4}
        assert (await client.get(f"{control}/stock")).json()["SPN-12"]["shop"] != 4


async def test_down_that_answers_nothing_is_a_timeout(
    faulted: Faulted, arbiter: FakeArbiter
) -> None:
    hang = {"mode": "hang", "hang_seconds": 5}
    config = {"request_timeout_seconds": 0.3}
    async with faulted("down", "erp", config, **hang) as (_sandbox, client, control):
        await _order(client, control)
        await eventually(lambda: _pushes(arbiter, 3001001))
    push = _pushes(arbiter, 3001001)[0]
    assert push["outcome"]["status"] is None
    assert push["outcome"]["error"].startswith("timeout")


async def test_reporter_bounds_its_buffer() -> None:
    from sandbox.reporter import EventReporter

    reporter = EventReporter(url="http://127.0.0.1:9", token="t", workspace="w", max_buffer=3)
    for n in range(5):
        reporter.emit({"id": str(n)})
    assert reporter.pending == 3
    assert reporter.dropped == 2
    assert await reporter.flush() is False
    assert reporter.pending == 3


async def test_gate_faults_in_each_vendors_format(
    world: World, woo: httpx.AsyncClient, baselinker: httpx.AsyncClient, magento: httpx.AsyncClient
) -> None:
    world.faults.add("throttle", "shop", params={"retry_after": 12})
    throttled = await woo.get("/wp-json/wc/v3/orders")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "12"
    assert throttled.json()["data"]["status"] == 429
    world.faults.clear()
    world.faults.add("token_expired", "shop")
    assert (await woo.get("/wp-json/wc/v3/orders")).json()[
        "code"
    ] == "woocommerce_rest_authentication_error"
    world.faults.add("token_expired", "oms")
    expired = await baselinker.post(
        "/connector.php", data={"method": "getOrders", "parameters": json.dumps({})}
    )
    assert expired.status_code == 200
    assert expired.json()["error_code"] == "ERROR_BAD_TOKEN"
    world.faults.add("down", "magento")
    assert (
        await magento.get("/rest/default/V1/orders", params={"searchCriteria": ""})
    ).status_code == 503
    world.faults.clear()
    world.faults.add("throttle", "oms")
    blocked = await baselinker.post("/connector.php", data={"method": "getOrders"})
    assert blocked.json()["error_code"] == "ERROR_USER_ACCOUNT_BLOCKED"


async def test_registry_validates_and_ratio_chooses_a_stable_share() -> None:
    faults = FaultRegistry(seed=1)
    with pytest.raises(FaultError):
        faults.add("explode", "erp")
    with pytest.raises(FaultError):
        faults.add("slow", "shop")
    with pytest.raises(FaultError):
        faults.add("reject", "erp", ratio=1.5)
    with pytest.raises(FaultError, match="duration_seconds"):
        faults.add("down", "erp", params={"duration_seconds": "soon"})
    healing = faults.add("throttle", "shop", params={"duration_seconds": 0.001})
    assert healing.expires_at is not None
    time.sleep(0.01)
    assert faults.active("throttle", "shop") is None
    assert faults.all() == []
    outage = faults.add("outage", "erp")
    shown = faults.strikes("down", "erp")
    assert shown is not None
    assert (shown.id, shown.kind, shown.param("mode")) == (outage.id, "down", "503")
    assert outage.to_json()["params"]["duration_seconds"] == 300.0
    faults.clear()
    half = faults.add("reject", "erp", ratio=0.5)
    chosen = [half.chooses(str(n)) for n in range(400)]
    assert 150 < sum(chosen) < 250
    assert chosen == [half.chooses(str(n)) for n in range(400)]


async def test_control_api_lists_and_clears_faults(run_sandbox: RunSandbox) -> None:
    async with run_sandbox() as sandbox, httpx.AsyncClient() as client:
        control = sandbox.world.url("control")
        bad = await client.post(f"{control}/faults", json={"kind": "slow", "target": "shop"})
        assert bad.status_code == 422
        await _fault(client, control, kind="down", target="magento", mode="503")
        await _fault(client, control, kind="reject", target="erp", ratio=0.3)
        listed = (await client.get(f"{control}/faults")).json()["faults"]
        assert [(f["kind"], f["target"], f["ratio"]) for f in listed] == [
            ("down", "magento", 1.0),
            ("reject", "erp", 0.3),
        ]
        assert (await client.delete(f"{control}/faults/nope")).status_code == 404
        assert (await client.delete(f"{control}/faults")).json() == {"removed": 2}
        state = (await client.get(f"{control}/state")).json()
        assert set(state["ports"]) == {"shop", "magento", "oms", "erp", "control"} | {
            "storefront",
            "storefront_tls",
            "storefront_mail",
        }
        assert state["credentials"]["oms"]["token"] == sandbox.config.baselinker.token
        assert state["faults"] == []
