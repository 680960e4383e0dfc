"""The sandbox's own control API (JSON): inject and clear faults, look at its state, place
orders and change stock on demand.

- ``GET /faults`` · ``POST /faults`` ``{"kind", "target", "ratio", ...params}`` → 201 the fault
  with its ``id`` · ``DELETE /faults/{id}`` → 204 · ``DELETE /faults`` → ``{"removed": n}``
- ``GET /state``: ports and URLs, credentials, counts, integration runs, reporter, webhooks
- ``POST /orders`` ``{"lines": [{"sku", "quantity"}], "wait_seconds": 0}`` → 201 the order's
  numbers in each system once known (``null`` where not yet) · ``GET /orders/{shop_number}``
- ``POST /stock`` ``{"sku", "quantity"}`` sets the ERP's stock · ``GET /stock``
- ``GET /events?limit=`` the events reported most recently · ``POST /webhooks/reset``
- ``GET /requests?system=&agent_prefix=&limit=`` requests the imitated systems received,
  counted by system and User-Agent, and the newest ones with their time
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse, Response

from sandbox import timefmt
from sandbox.faults import FaultError
from sandbox.stores import BL_STATUSES, CATALOG, Line
from sandbox.traffic import place_order, random_lines
from sandbox.world import World


class FaultSpec(BaseModel):
    """A fault to inject; any other member is a parameter of the fault (``retry_after``,
    ``delay_seconds``, ``delta``, ``mode``, ``message``...)."""

    model_config = ConfigDict(extra="allow")

    kind: str
    target: str
    ratio: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    params: dict[str, Any] = Field(default_factory=dict)


class OrderLine(BaseModel):
    sku: str
    quantity: Annotated[int, Field(ge=1, le=1000)] = 1


class OrderRequest(BaseModel):
    lines: list[OrderLine] | None = None
    wait_seconds: Annotated[float, Field(ge=0.0, le=120.0)] = 0.0


class StockRequest(BaseModel):
    sku: str
    quantity: Annotated[int, Field(ge=0)]


def trace(world: World, number: str) -> dict[str, Any] | None:
    """Where one shop order is in each system, by the identifiers each system gives it."""
    shop_order = next((o for o in world.shop.orders.values() if o.number == number), None)
    if shop_order is None:
        return None
    bl = world.oms.by_shop_order(shop_order.id)
    sale = world.erp.orders_by_ref().get(str(bl.order_id)) if bl is not None else None
    return {
        "shop": {
            "id": shop_order.id,
            "number": shop_order.number,
            "status": shop_order.status,
            "total": f"{shop_order.total:.2f}",
        },
        "oms": None
        if bl is None
        else {
            "order_id": bl.order_id,
            "status_id": bl.status_id,
            "status": BL_STATUSES[bl.status_id][0],
            "erp_attempts": bl.erp_attempts,
        },
        "erp": None
        if sale is None
        else {"id": sale["id"], "name": sale["name"], "state": sale["state"]},
    }


def state(world: World) -> dict[str, Any]:
    config = world.config
    erp_orders = list(world.erp.db.visible("sale.order"))
    return {
        "run_id": world.run_id,
        "id_base": world.id_base,
        "workspace": config.workspace,
        "ports": dict(world.ports),
        "urls": {
            "shop": world.url("shop") + "/wp-json/wc/v3",
            "magento": f"{world.url('magento')}/rest/{config.magento.store_code}/V1",
            "oms": world.url("oms") + "/connector.php",
            "erp": world.url("erp") + "/jsonrpc",
            "erp_json2": world.url("erp") + "/json/2",
            "control": world.url("control"),
        },
        "credentials": {
            "shop": asdict(config.woo),
            "magento": asdict(config.magento),
            "oms": asdict(config.baselinker),
            "erp": asdict(config.odoo),
        },
        "counts": {
            "shop_orders": len(world.shop.orders),
            "magento_orders": len(world.magento.orders),
            "oms_orders": len(world.oms.orders),
            "erp_orders": len(erp_orders),
            "erp_lost": world.erp.lost_orders,
            "erp_rejected": world.erp.rejected_orders,
            "oms_journal": len(world.oms.journal),
            "shop_orders_by_status": dict(Counter(o.status for o in world.shop.orders.values())),
            "shop_orders_by_payment": dict(
                Counter(o.payment_method for o in world.shop.orders.values())
            ),
            "payments_due": len(world.payments),
        },
        "integrations": {name: run.to_json() for name, run in world.integrations.items()},
        "faults": [f.to_json() for f in world.faults.all()],
        "reporter": world.reporter.stats(),
        "webhooks": world.webhooks.to_json() if world.webhooks is not None else None,
        "report_seen": config.report_seen,
    }


def create_control_app(world: World) -> FastAPI:
    app = FastAPI(title="Arbiter sandbox control", version="1")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/faults")
    async def list_faults() -> dict[str, Any]:
        return {"faults": [f.to_json() for f in world.faults.all()]}

    @app.post("/faults", status_code=201)
    async def add_fault(spec: FaultSpec) -> dict[str, Any]:
        params = {**spec.params, **(spec.model_extra or {})}
        try:
            fault = world.faults.add(spec.kind, spec.target, ratio=spec.ratio, params=params)
        except FaultError as exc:
            raise HTTPException(422, str(exc)) from exc
        return fault.to_json()

    @app.delete("/faults/{fault_id}", status_code=204)
    async def remove_fault(fault_id: str) -> Response:
        if not world.faults.remove(fault_id):
            raise HTTPException(404, f"no fault {fault_id!r}")
        return Response(status_code=204)

    @app.delete("/faults")
    async def clear_faults() -> dict[str, int]:
        return {"removed": world.faults.clear()}

    @app.get("/state")
    async def get_state() -> dict[str, Any]:
        return state(world)

    @app.post("/orders", status_code=201)
    async def create_order(request: OrderRequest) -> dict[str, Any]:
        known = {item.sku: item for item in CATALOG}
        if request.lines:
            unknown = sorted({line.sku for line in request.lines} - set(known))
            if unknown:
                raise HTTPException(422, f"unknown SKU(s) {unknown}; known: {sorted(known)}")
            lines = [
                Line(line.sku, known[line.sku].name, line.quantity, known[line.sku].price)
                for line in request.lines
            ]
        else:
            lines = random_lines(world)
        order = place_order(world, lines)
        deadline = asyncio.get_running_loop().time() + request.wait_seconds
        found = trace(world, order.number)
        while (
            found is not None
            and found["erp"] is None
            and asyncio.get_running_loop().time() < deadline
        ):
            await asyncio.sleep(0.05)
            found = trace(world, order.number)
        return found or {}

    @app.get("/orders/{number}")
    async def get_order(number: str) -> dict[str, Any]:
        found = trace(world, number)
        if found is None:
            raise HTTPException(404, f"no shop order number {number!r}")
        return found

    @app.post("/stock")
    async def set_stock(request: StockRequest) -> dict[str, Any]:
        if not world.erp.set_stock(request.sku, request.quantity):
            raise HTTPException(422, f"unknown SKU {request.sku!r}")
        return {"sku": request.sku, "quantity": request.quantity}

    @app.get("/stock")
    async def get_stock() -> dict[str, Any]:
        erp = world.erp.stock()
        return {
            item.sku: {
                "erp": erp.get(item.sku),
                "oms": p.stock if (p := world.oms.product_by_sku(item.sku)) else None,
                "shop": s.stock_quantity if (s := world.shop.product_by_sku(item.sku)) else None,
                "magento": m.quantity if (m := world.magento.source_items.get(item.sku)) else None,
            }
            for item in CATALOG
        }

    @app.get("/events")
    async def recent_events(limit: Annotated[int, Query(ge=1, le=2000)] = 100) -> JSONResponse:
        events = list(world.reporter.recent)[-limit:]
        return JSONResponse(
            {
                "events": events,
                "reporter": world.reporter.stats(),
                "now": timefmt.iso_z(world.clock()),
            }
        )

    @app.get("/requests")
    async def received_requests(
        system: str | None = None,
        agent_prefix: str = "",
        limit: Annotated[int, Query(ge=1, le=20_000)] = 1000,
    ) -> dict[str, Any]:
        """Requests counted by system and User-Agent; the newest ones kept, with their time."""
        log = world.requests
        return {
            "counts": log.counts,
            "requests": log.recent(system=system, agent_prefix=agent_prefix, limit=limit),
        }

    @app.post("/webhooks/reset")
    async def reset_webhooks() -> dict[str, Any]:
        if world.webhooks is None:
            raise HTTPException(409, "no webhook is configured (webhook_url and webhook_secret)")
        for hook in world.webhooks.hooks:
            hook.status, hook.failure_count = "active", 0
        return world.webhooks.to_json()

    return app
