"""The OMS's integrations, as they run in life, over real HTTP to the other systems:

- orders shop → OMS: the OMS *pulls* the shop's orders (WooCommerce ``GET /orders`` by
  ``modified_after``) and imports the new ones;
- orders OMS → ERP: the OMS *pushes* each imported order to the ERP (Odoo ``execute_kw``
  ``sale.order.create`` with ``client_order_ref`` = the OMS's order id);
- stock ERP → OMS: the OMS *pulls* ``stock.quant`` from the ERP into its inventory;
- stock OMS → shop: the OMS *pushes* changed quantities to the shop (``products/batch``).

Each reports every call it makes to Arbiter (see ``middleware``): a ``call`` event from ``oms``
to the system called, with the entity's refs when the call is about one entity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import httpx

from sandbox import timefmt
from sandbox.erp import ERP_PARTNER_ID
from sandbox.middleware import Middleware, Outcome
from sandbox.stores import BL_STATUS_ERP_ERROR, BL_STATUS_IN_ERP, BlOrder, Line
from sandbox.world import World

IMPORTED_SHOP_STATUSES = {"processing", "on-hold", "completed"}


class OmsIntegrations(Middleware):
    def __init__(self, world: World, client: httpx.AsyncClient) -> None:
        super().__init__(world, client)
        self._order_cursor: str | None = None
        self._poll_seq = 0
        self._stock_seq = 0
        self._erp_products: dict[str, int] = {}
        self._shop_products: dict[str, int] = {}
        self._pushed_stock: dict[str, int] = {p.sku: p.stock for p in world.oms.products.values()}
        self._refused_stock: dict[str, int] = {}

    def tasks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {
            "order shop→oms": self.pull_orders,
            "order oms→erp": self.push_orders,
            "stock erp→oms": self.pull_stock,
            "stock oms→shop": self.push_stock,
        }

    # --- orders: shop → OMS (pull) ------------------------------------------------------------

    async def pull_orders(self) -> None:
        if not self._oms_running() or self._waiting("shop"):
            return
        self._poll_seq += 1
        page, newest = 1, self._order_cursor
        while True:
            params: dict[str, Any] = {
                "per_page": 100,
                "page": page,
                "orderby": "modified",
                "order": "asc",
            }
            if self._order_cursor:
                params["modified_after"] = self._order_cursor
            started = self.world.clock()
            outcome = await self._http(
                "GET",
                self.world.url("shop") + "/wp-json/wc/v3/orders",
                params=params,
                auth=self._woo_auth(),
            )
            self._report(
                f"oms/shop/orders-list/{self._poll_seq}/p{page}",
                flow="order",
                target="shop",
                outcome=outcome,
                started=started,
            )
            self._honour("shop", outcome)
            if not outcome.ok or not isinstance(outcome.body, list):
                return
            for raw in outcome.body:
                newest = max(newest or "", str(raw.get("date_modified_gmt") or ""))
                self._import(raw, outcome, started)
            last_page = outcome.total_pages if outcome.total_pages is not None else page
            if page >= last_page or not outcome.body:
                break
            page += 1
        self._order_cursor = newest

    def _import(self, raw: dict[str, Any], outcome: Outcome, started: Any) -> None:
        oms = self.world.oms
        shop_id = int(raw["id"])
        if (
            raw.get("status") not in IMPORTED_SHOP_STATUSES
            or oms.by_shop_order(shop_id) is not None
        ):
            return
        lines = [
            Line(
                str(item.get("sku") or ""),
                str(item.get("name") or ""),
                int(item.get("quantity") or 0),
                Decimal(str(item.get("price") or 0)).quantize(Decimal("0.01")),
            )
            for item in raw.get("line_items") or []
        ]
        order = oms.import_order(
            shop_order_id=shop_id,
            number=str(raw["number"]),
            lines=lines,
            date_add=timefmt.parse(
                str(raw.get("date_created_gmt") or timefmt.woo(self.world.clock()))
            ),
            email=str((raw.get("billing") or {}).get("email") or ""),
            currency=str(raw.get("currency") or "PLN"),
            paid=raw.get("date_paid_gmt") is not None,
            moment=self.world.clock(),
        )
        self.world.integration("order shop→oms").moved += 1
        self._report(
            f"oms/shop/order/{raw['number']}",
            flow="order",
            target="shop",
            outcome=outcome,
            started=started,
            refs={"oms": str(order.order_id), "shop": str(raw["number"])},
        )

    # --- orders: OMS → ERP (push) -------------------------------------------------------------

    async def push_orders(self) -> None:
        if not self._oms_running() or self._waiting("erp"):
            return
        pending = [
            o
            for o in self.world.oms.orders.values()
            if not o.erp_done and o.status_id != BL_STATUS_ERP_ERROR
        ]
        if not pending:
            return
        for order in sorted(pending, key=lambda o: o.order_id):
            if self._waiting("erp") or not self._oms_running():
                return
            await self._push_order(order)

    async def _push_order(self, order: BlOrder) -> None:
        order.erp_attempts += 1
        event_key = f"oms/erp/order/{order.order_id}/{order.erp_attempts}"
        refs = {"oms": str(order.order_id), "shop": order.external_order_id}
        if any(line.sku not in self._erp_products for line in order.lines):
            started = self.world.clock()
            lookup = await self._lookup_erp_products()
            if not lookup.ok:
                # the attempt to hand this order over failed at its first call
                self._report(
                    event_key,
                    flow="order",
                    target="erp",
                    outcome=lookup,
                    started=started,
                    refs=refs,
                )
                self._honour("erp", lookup)
                return
        values = {
            "partner_id": ERP_PARTNER_ID,
            "client_order_ref": str(order.order_id),
            "origin": f"WooCommerce #{order.external_order_id}",
            "state": "sale",
            "order_line": [
                [
                    0,
                    0,
                    {
                        "product_id": self._erp_products.get(line.sku, 0),
                        "product_uom_qty": line.quantity,
                        "price_unit": float(line.price),
                        "name": line.name,
                    },
                ]
                for line in order.lines
            ],
        }
        started = self.world.clock()
        outcome = await self._odoo("sale.order", "create", [values])
        data = {"erp_id": outcome.body} if outcome.ok else None
        self._report(
            event_key,
            flow="order",
            target="erp",
            outcome=outcome,
            started=started,
            refs=refs,
            data=data,
        )
        self._honour("erp", outcome)
        if outcome.ok:
            order.erp_done = True
            self.world.oms.set_status(order, BL_STATUS_IN_ERP, self.world.clock())
            self.world.integration("order oms→erp").moved += 1
        elif outcome.permanent:
            self.world.oms.set_status(order, BL_STATUS_ERP_ERROR, self.world.clock())

    async def _lookup_erp_products(self) -> Outcome:
        """Learn the ERP's product ids by SKU (``product.product.default_code``)."""
        outcome = await self._odoo(
            "product.product", "search_read", [[]], {"fields": ["default_code"]}
        )
        if outcome.ok and isinstance(outcome.body, list):
            self._erp_products = {
                str(p["default_code"]): int(p["id"]) for p in outcome.body if p.get("default_code")
            }
        elif outcome.ok:
            outcome.status, outcome.error = 502, "unexpected product list"
        return outcome

    # --- stock: ERP → OMS (pull) --------------------------------------------------------------

    async def pull_stock(self) -> None:
        if not self._oms_running() or self._waiting("erp"):
            return
        self._stock_seq += 1
        started = self.world.clock()
        if not self._erp_products:
            lookup = await self._lookup_erp_products()
            if not lookup.ok:
                self._report(
                    f"oms/erp/stock-list/{self._stock_seq}",
                    flow="stock",
                    target="erp",
                    outcome=lookup,
                    started=started,
                )
                self._honour("erp", lookup)
                return
        outcome = await self._odoo(
            "stock.quant",
            "search_read",
            [[["location_id.usage", "=", "internal"]]],
            {"fields": ["product_id", "quantity", "reserved_quantity", "location_id"]},
        )
        self._report(
            f"oms/erp/stock-list/{self._stock_seq}",
            flow="stock",
            target="erp",
            outcome=outcome,
            started=started,
        )
        self._honour("erp", outcome)
        if not outcome.ok or not isinstance(outcome.body, list):
            return
        by_id = {pid: sku for sku, pid in self._erp_products.items()}
        levels: dict[str, int] = {}
        for quant in outcome.body:
            product = quant.get("product_id")
            sku = by_id.get(int(product[0])) if isinstance(product, list) and product else None
            if sku is not None:
                levels[sku] = levels.get(sku, 0) + int(quant.get("quantity") or 0)
        oms = self.world.oms
        for sku, quantity in sorted(levels.items()):
            product = oms.product_by_sku(sku)
            if product is None or product.stock == quantity:
                continue
            product.stock = quantity
            self.world.integration("stock erp→oms").moved += 1
            self._report(
                f"oms/erp/stock/{sku}/{self._stock_seq}",
                flow="stock",
                target="erp",
                outcome=outcome,
                started=started,
                refs={"sku": sku},
                data={"quantity": quantity},
            )

    # --- stock: OMS → shop (push) -------------------------------------------------------------

    async def push_stock(self) -> None:
        world = self.world
        if not self._oms_running() or self._waiting("shop"):
            return
        if world.faults.active("stale_stock", "oms") is not None:
            return  # the OMS silently stopped pushing stock
        changed = {
            p.sku: p.stock
            for p in world.oms.products.values()
            if self._pushed_stock.get(p.sku) != p.stock
            and self._refused_stock.get(p.sku) != p.stock
        }
        if not changed:
            return
        self._stock_seq += 1
        if not await self._known_shop_products():
            return
        updates, sent = [], {}
        for sku, quantity in sorted(changed.items()):
            if sku not in self._shop_products:
                continue
            wrong = world.faults.strikes("wrong_stock", "oms", key=sku)
            shown = max(0, quantity + int(wrong.param("delta"))) if wrong is not None else quantity
            updates.append(
                {"id": self._shop_products[sku], "stock_quantity": shown, "manage_stock": True}
            )
            sent[self._shop_products[sku]] = (sku, quantity, shown)
        started = world.clock()
        outcome = await self._http(
            "POST",
            world.url("shop") + "/wp-json/wc/v3/products/batch",
            json={"update": updates},
            auth=self._woo_auth(),
        )
        self._honour("shop", outcome)
        results = {}
        if outcome.ok and isinstance(outcome.body, dict):
            results = {int(item.get("id", 0)): item for item in outcome.body.get("update") or []}
        for product_id, (sku, quantity, shown) in sent.items():
            item_outcome = outcome
            item = results.get(product_id)
            if outcome.ok and (item is None or "error" in item):
                error = (item or {}).get("error") or {}
                status = (
                    int((error.get("data") or {}).get("status", 500)) if item is not None else 502
                )
                code = error.get("code", "missing")
                message = f"{code}: {error.get('message', 'no result for this item')}"
                item_outcome = Outcome(status, outcome.duration_ms, message)
            self._report(
                f"oms/shop/stock/{sku}/{self._stock_seq}",
                flow="stock",
                target="shop",
                outcome=item_outcome,
                started=started,
                refs={"sku": sku},
                data={"quantity": shown},
            )
            if item_outcome.ok:
                self._pushed_stock[sku] = quantity
                world.integration("stock oms→shop").moved += 1
            elif item_outcome.permanent:
                self._refused_stock[sku] = quantity

    async def _known_shop_products(self) -> bool:
        if self._shop_products:
            return True
        started = self.world.clock()
        outcome = await self._http(
            "GET",
            self.world.url("shop") + "/wp-json/wc/v3/products",
            params={"per_page": 100},
            auth=self._woo_auth(),
        )
        if not outcome.ok or not isinstance(outcome.body, list):
            self._report(
                f"oms/shop/products/{self._stock_seq}",
                flow="stock",
                target="shop",
                outcome=outcome,
                started=started,
            )
            self._honour("shop", outcome)
            return False
        self._shop_products = {str(p["sku"]): int(p["id"]) for p in outcome.body if p.get("sku")}
        return True
