"""``seen`` events straight from the sandbox's own data, for tests that run without Arbiter's
pollers (``report_seen=True``). Normally Arbiter observes the systems through their APIs and
the sandbox reports only its integrations' calls.

Refs follow CONTRACT.md: a shop order ``{"shop": number}``; an OMS order
``{"oms": order_id, "shop": number}``; an ERP order ``{"erp": name, "oms": client_order_ref}``;
stock ``{"sku": sku}`` with the ``quantity`` in that system.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox import timefmt
from sandbox.reporter import seen_event
from sandbox.world import World


def _order_data(
    total: Decimal | float, currency: str, skus: list[tuple[str, float]]
) -> dict[str, Any]:
    """CONTRACT.md's comparable facts: the gross total (shipping and fees included), the
    number of product lines (no shipping, fee or discount line) and quantity per SKU."""
    by_sku: dict[str, float] = {}
    for sku, quantity in skus:
        by_sku[sku] = by_sku.get(sku, 0) + quantity
    return {
        "total": f"{Decimal(str(total)):.2f}",
        "currency": currency,
        "lines": len(skus),
        "skus": by_sku,
    }


class SeenReporter:
    def __init__(self, world: World) -> None:
        self.world = world
        self._reported: set[tuple[str, ...]] = set()
        self._stock: dict[tuple[str, str], int] = {}
        self._stock_seq = 0

    def _emit_once(self, key: tuple[str, ...], event: dict[str, Any]) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self.world.reporter.emit(event)

    def scan(self) -> None:
        world = self.world
        event_id = world.event_id
        if not world.is_down("shop"):
            for order in world.shop.orders.values():
                self._emit_once(
                    ("shop", order.number, order.status),
                    seen_event(
                        event_id("seen-shop-order", order.number, order.status),
                        moment=order.date_modified,
                        flow="order",
                        system="shop",
                        refs={"shop": order.number},
                        state=order.status,
                        data=_order_data(
                            order.total, order.currency, [(x.sku, x.quantity) for x in order.lines]
                        ),
                    ),
                )
        if not world.is_down("oms"):
            for bl in world.oms.orders.values():
                self._emit_once(
                    ("oms", str(bl.order_id), str(bl.status_id)),
                    seen_event(
                        event_id("seen-oms-order", bl.order_id, bl.status_id),
                        moment=bl.date_in_status,
                        flow="order",
                        system="oms",
                        refs={"oms": str(bl.order_id), "shop": bl.external_order_id},
                        # BaseLinker's statuses are the account's own: its API names them by
                        # order_status_id, as Arbiter's connector reports them
                        state=str(bl.status_id),
                        data=_order_data(
                            bl.total, bl.currency, [(x.sku, x.quantity) for x in bl.lines]
                        ),
                    ),
                )
        if not world.is_down("erp"):
            db = world.erp.db
            for sale in db.visible("sale.order"):
                if not sale.get("client_order_ref"):
                    continue
                products = [
                    (str(product["default_code"]), float(line["product_uom_qty"]))
                    for line in db.tables["sale.order.line"].values()
                    if line["order_id"] == sale["id"] and not line.get("is_delivery")
                    if (product := db.get("product.product", int(line["product_id"])))
                ]
                visible_at: datetime | None = sale.get("_visible_at")
                moment = max(
                    timefmt.parse(str(sale["create_date"])),
                    visible_at or timefmt.parse(str(sale["create_date"])),
                )
                self._emit_once(
                    ("erp", str(sale["name"]), str(sale["state"])),
                    seen_event(
                        event_id("seen-erp-order", sale["name"], sale["state"]),
                        moment=moment,
                        flow="order",
                        system="erp",
                        refs={"erp": str(sale["name"]), "oms": str(sale["client_order_ref"])},
                        state=str(sale["state"]),
                        data=_order_data(float(sale["amount_total"]), "PLN", products),
                    ),
                )
        self._scan_stock()

    def _scan_stock(self) -> None:
        world = self.world
        levels: dict[str, dict[str, int]] = {}
        if not world.is_down("erp"):
            levels["erp"] = world.erp.stock()
        if not world.is_down("oms"):
            levels["oms"] = {p.sku: p.stock for p in world.oms.products.values()}
        if not world.is_down("shop"):
            levels["shop"] = {p.sku: p.stock_quantity for p in world.shop.products.values()}
        moment = world.clock()
        for system, by_sku in levels.items():
            for sku, quantity in sorted(by_sku.items()):
                if self._stock.get((system, sku)) == quantity:
                    continue
                self._stock[(system, sku)] = quantity
                self._stock_seq += 1
                world.reporter.emit(
                    seen_event(
                        world.event_id("seen", system, "stock", sku, self._stock_seq),
                        moment=moment,
                        flow="stock",
                        system=system,
                        refs={"sku": sku},
                        quantity=quantity,
                    )
                )

    async def run(self) -> None:
        while True:
            self.scan()
            await asyncio.sleep(min(self.world.config.integration_interval_seconds, 1.0))
