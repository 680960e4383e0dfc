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
from sandbox.erp import DELIVERY_CODE, ERP_PARTNER_ID
from sandbox.middleware import Middleware, Outcome
from sandbox.stores import BL_STATUS_ERP_ERROR, BL_STATUS_IN_ERP, CENT, BlOrder, Line
from sandbox.world import World


class OmsIntegrations(Middleware):
    def __init__(self, world: World, client: httpx.AsyncClient) -> None:
        super().__init__(world, client)
        self._order_cursor: str | None = None
        self._poll_seq = 0
        self._stock_seq = 0
        self._erp_products: dict[str, int] = {}
        self._shop_products: dict[str, tuple[str, int]] = {}
        self._pushed_stock: dict[str, int] = {p.sku: p.stock for p in world.oms.products.values()}
        self._refused_stock: dict[str, int] = {}

    def tasks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        return {
            "order shop→oms": self.pull_orders,
            "order oms→erp": self.push_orders,
            "stock erp→oms": self.pull_stock,
            "stock oms→shop": self.push_stock,
        }

    def _listed(
        self, event_id: str, flow: str, target: str, outcome: Outcome, started: Any
    ) -> list[Any] | None:
        """Report a call that lists (and wait when ``target`` answered 429): the list it
        answered, or None when it failed or answered something else."""
        self._report(
            event_id, flow=flow, target=target, outcome=outcome, started=started, heed=True
        )
        return outcome.body if outcome.ok and isinstance(outcome.body, list) else None

    def _report_stock(
        self, target: str, sku: str, quantity: int, outcome: Outcome, started: Any
    ) -> None:
        """Report a call that moved one SKU's stock level between the OMS and ``target``."""
        self._report(
            f"oms/{target}/stock/{sku}/{self._stock_seq}",
            flow="stock",
            target=target,
            outcome=outcome,
            started=started,
            refs={"sku": sku},
            data={"quantity": quantity},
        )

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
            listed = self._listed(
                f"oms/shop/orders-list/{self._poll_seq}/p{page}", "order", "shop", outcome, started
            )
            if listed is None:
                return
            for raw in listed:
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
        # BaseLinker takes an order only in the statuses its integration is set to import
        # (paid ones); an unpaid order is taken once paid, a cancelled one never.
        if (
            raw.get("status") not in self.world.config.oms_import_statuses
            or oms.by_shop_order(shop_id) is not None
        ):
            return
        # BaseLinker keeps one gross unit price per product: the price after the coupon
        lines = [
            Line(
                str(item.get("sku") or ""),
                str(item.get("name") or ""),
                int(item.get("quantity") or 0),
                (_money(item.get("total")) / max(int(item.get("quantity") or 1), 1)).quantize(CENT),
            )
            for item in raw.get("line_items") or []
        ]
        # ... and one delivery price, which takes the shop's fees (cash on delivery) too
        delivery = _money(raw.get("shipping_total")) + sum(
            (_money(fee.get("total")) for fee in raw.get("fee_lines") or []), Decimal("0.00")
        )
        shipping = raw.get("shipping_lines") or [{}]
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
            delivery_method=str(shipping[0].get("method_title") or ""),
            delivery_price=delivery,
            payment_method=str(raw.get("payment_method_title") or ""),
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
        needed = [line.sku for line in order.lines] + [DELIVERY_CODE] * bool(order.delivery_price)
        if any(sku not in self._erp_products for sku in needed):
            started = self.world.clock()
            lookup = await self._lookup_erp_products()
            if not lookup.ok:
                # the attempt to hand this order over failed at its first call
                self._report_push(order, lookup, started)
                return
        values: dict[str, Any] = {
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
        if order.delivery_price:
            # Odoo's delivery line: a service product, flagged so it is not a product line
            values["order_line"].append(
                [
                    0,
                    0,
                    {
                        "product_id": self._erp_products.get(DELIVERY_CODE, 0),
                        "product_uom_qty": 1,
                        "price_unit": float(order.delivery_price),
                        "name": order.delivery_method or "Delivery",
                        "is_delivery": True,
                    },
                ]
            )
        started = self.world.clock()
        outcome = await self._odoo("sale.order", "create", [values])
        self._report_push(order, outcome, started)
        if outcome.ok:
            order.erp_done = True
            self.world.oms.set_status(order, BL_STATUS_IN_ERP, self.world.clock())
            self.world.integration("order oms→erp").moved += 1
        elif outcome.permanent:
            self.world.oms.set_status(order, BL_STATUS_ERP_ERROR, self.world.clock())

    def _report_push(self, order: BlOrder, outcome: Outcome, started: Any) -> None:
        """Report an attempt to hand ``order`` over to the ERP, by its first call that failed
        or by the ``sale.order`` it created (its id in ``data``)."""
        self._report(
            f"oms/erp/order/{order.order_id}/{order.erp_attempts}",
            flow="order",
            target="erp",
            outcome=outcome,
            started=started,
            refs={"oms": str(order.order_id), "shop": order.external_order_id},
            data={"erp_id": outcome.body} if outcome.ok else None,
            heed=True,
        )

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
        # The product ids are learnt first; when that fails, its failure is this list's.
        outcome = None if self._erp_products else await self._lookup_erp_products()
        if outcome is None or outcome.ok:
            outcome = await self._odoo(
                "stock.quant",
                "search_read",
                [[["location_id.usage", "=", "internal"]]],
                {"fields": ["product_id", "quantity", "reserved_quantity", "location_id"]},
            )
        quants = self._listed(
            f"oms/erp/stock-list/{self._stock_seq}", "stock", "erp", outcome, started
        )
        if quants is None:
            return
        by_id = {pid: sku for sku, pid in self._erp_products.items()}
        levels: dict[str, int] = {}
        for quant in quants:
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
            self._report_stock("erp", sku, quantity, outcome, started)

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
        # one batch per endpoint: products/batch for simple products, and
        # products/{parent}/variations/batch for the variations of each variable product
        batches: dict[str, dict[int, tuple[str, int, int]]] = {}
        for sku, quantity in sorted(changed.items()):
            if sku not in self._shop_products:
                continue
            path, product_id = self._shop_products[sku]
            wrong = world.faults.strikes("wrong_stock", "oms", key=sku)
            shown = max(0, quantity + int(wrong.param("delta"))) if wrong is not None else quantity
            batches.setdefault(path, {})[product_id] = (sku, quantity, shown)
        for path, sent in batches.items():
            await self._push_batch(path, sent)
            if self._waiting("shop"):
                return

    async def _push_batch(self, path: str, sent: dict[int, tuple[str, int, int]]) -> None:
        world = self.world
        updates = [
            {"id": product_id, "stock_quantity": shown, "manage_stock": True}
            for product_id, (_sku, _quantity, shown) in sent.items()
        ]
        started = world.clock()
        outcome = await self._http(
            "POST",
            world.url("shop") + "/wp-json/wc/v3/" + path,
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
            self._report_stock("shop", sku, shown, item_outcome, started)
            if item_outcome.ok:
                self._pushed_stock[sku] = quantity
                world.integration("stock oms→shop").moved += 1
            elif item_outcome.permanent:
                self._refused_stock[sku] = quantity

    async def _known_shop_products(self) -> bool:
        """Learn where each SKU's stock is written: ``sku → (batch path, id)``."""
        if self._shop_products:
            return True
        known: dict[str, tuple[str, int]] = {}
        listed = await self._shop_list("products")
        if listed is None:
            return False
        for product in listed:
            if product.get("type") == "variable":
                variations = await self._shop_list(f"products/{product['id']}/variations")
                if variations is None:
                    return False
                path = f"products/{product['id']}/variations/batch"
                known.update(
                    (str(v["sku"]), (path, int(v["id"]))) for v in variations if v.get("sku")
                )
            elif product.get("sku"):
                known[str(product["sku"])] = ("products/batch", int(product["id"]))
        self._shop_products = known
        return True

    async def _shop_list(self, path: str) -> list[dict[str, Any]] | None:
        """One page of a WooCommerce list (the sandbox's catalogue fits in one); None on failure,
        which is reported as a call of the stock flow."""
        started = self.world.clock()
        outcome = await self._http(
            "GET",
            self.world.url("shop") + "/wp-json/wc/v3/" + path,
            params={"per_page": 100},
            auth=self._woo_auth(),
        )
        if not outcome.ok or not isinstance(outcome.body, list):
            self._report(
                f"oms/shop/{path}/{self._stock_seq}",
                flow="stock",
                target="shop",
                outcome=outcome,
                started=started,
                heed=True,
            )
            return None
        return [p for p in outcome.body if isinstance(p, dict)]


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value or 0)).quantize(CENT)
    except ArithmeticError:
        return Decimal("0.00")
