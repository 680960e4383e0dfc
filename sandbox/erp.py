"""The ERP's behaviour behind both Odoo APIs: which methods exist, and how a sale order is
booked (or rejected, lost, delayed, when a fault says so).

>>> from sandbox.faults import FaultRegistry
>>> erp = ErpService.seeded(FaultRegistry(), order_name=lambda n: f"S{n:05d}")
>>> erp.call("res.partner", "search_count", [[]], {})
1
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sandbox import timefmt
from sandbox.faults import FaultRegistry
from sandbox.odoo_orm import OdooDb, OdooError, validation_error
from sandbox.stores import CATALOG, CURRENCY

ERP_PARTNER_ID = 1
STOCK_LOCATION_ID = 8
DELIVERY_CODE = "DELIVERY"
"""The service product of Odoo's delivery lines (``sale.order.line.is_delivery``); no stock."""


class ErpService:
    def __init__(self, db: OdooDb, faults: FaultRegistry) -> None:
        self.db = db
        self.faults = faults
        self.lost_orders = 0
        self.rejected_orders = 0

    @classmethod
    def seeded(
        cls,
        faults: FaultRegistry,
        *,
        order_name: Callable[[int], str],
        stock: dict[str, int] | None = None,
        clock: Callable[[], datetime] = timefmt.now,
    ) -> ErpService:
        db = OdooDb(order_name=order_name, clock=clock)
        db.insert("res.partner", {"name": "Online shop customers", "email": "shop@example.com"})
        db.insert("res.currency", {"name": CURRENCY})
        for _ in range(STOCK_LOCATION_ID - 1):  # Odoo's stock locations before WH/Stock
            db.reserve_id("stock.location")
        db.insert(
            "stock.location", {"name": "Stock", "complete_name": "WH/Stock", "usage": "internal"}
        )
        for item in CATALOG:
            product_id = db.insert(
                "product.product",
                {
                    "default_code": item.sku,
                    "name": item.name,
                    "list_price": float(item.price),
                    "active": True,
                },
            )
            db.insert(
                "stock.quant",
                {
                    "product_id": product_id,
                    "location_id": STOCK_LOCATION_ID,
                    "quantity": float((stock or {}).get(item.sku, 0)),
                    "reserved_quantity": 0.0,
                    "in_date": timefmt.odoo(clock()),
                },
            )
        db.insert(
            "product.product",
            {"default_code": DELIVERY_CODE, "name": "Delivery", "list_price": 0.0, "active": True},
        )
        return cls(db, faults)

    # --- the ERP's own side (its warehouse staff, the traffic generator) ---------------------

    def quant_for(self, sku: str) -> dict[str, Any] | None:
        for quant in self.db.tables["stock.quant"].values():
            product = self.db.get("product.product", int(quant["product_id"]))
            if product is not None and product["default_code"] == sku:
                return quant
        return None

    def stock(self) -> dict[str, int]:
        levels: dict[str, int] = {}
        for quant in self.db.tables["stock.quant"].values():
            product = self.db.get("product.product", int(quant["product_id"]))
            if product is not None:
                levels[product["default_code"]] = levels.get(product["default_code"], 0) + int(
                    quant["quantity"]
                )
        return levels

    def set_stock(self, sku: str, quantity: int) -> bool:
        quant = self.quant_for(sku)
        if quant is None:
            return False
        if int(quant["quantity"]) != quantity:
            self.db.touch("stock.quant", int(quant["id"]), {"quantity": float(quantity)})
        return True

    def orders_by_ref(self) -> dict[str, dict[str, Any]]:
        """Visible sale orders keyed by ``client_order_ref``."""
        return {
            str(o["client_order_ref"]): o
            for o in self.db.visible("sale.order")
            if o.get("client_order_ref")
        }

    # --- the external API ---------------------------------------------------------------------

    def call(self, model: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """One ORM call as ``execute_kw`` makes it: positional ``args`` (record methods take the
        ids first) and keyword ``kwargs``."""
        handler = self._methods(model).get(method)
        if handler is None:
            raise OdooError(
                "builtins.AttributeError",
                f"The method '{method}' does not exist on the model '{model}'",
                422,
            )
        try:
            return handler(*args, **kwargs)
        except TypeError as exc:
            raise OdooError("builtins.TypeError", str(exc).split(".")[-1].strip(), 422) from exc

    RECORD_METHODS = frozenset({"read", "write", "action_confirm"})

    def _methods(self, model: str) -> dict[str, Callable[..., Any]]:
        db = self.db
        db.fields_get(model)  # unknown model: KeyError as Odoo raises it

        def search(
            domain: list[Any], offset: int = 0, limit: int | None = None, order: str | None = None
        ) -> Any:
            return db.search(model, domain, offset, limit, order)

        def search_read(
            domain: list[Any] | None = None,
            fields: list[str] | None = None,
            offset: int = 0,
            limit: int | None = None,
            order: str | None = None,
        ) -> Any:
            return db.search_read(model, domain, fields, offset, limit, order)

        def read(
            ids: list[int], fields: list[str] | None = None, load: str = "_classic_read"
        ) -> Any:
            return db.read(model, _ids(ids), fields)

        def search_count(domain: list[Any] | None = None, limit: int | None = None) -> Any:
            return db.search_count(model, domain)

        def fields_get(
            allfields: list[str] | None = None, attributes: list[str] | None = None
        ) -> Any:
            found = db.fields_get(model)
            return {k: v for k, v in found.items() if not allfields or k in allfields}

        def create(vals_list: dict[str, Any] | list[dict[str, Any]]) -> Any:
            if isinstance(vals_list, dict):
                return self._create(model, vals_list)
            return [self._create(model, vals) for vals in vals_list]

        def write(ids: list[int], vals: dict[str, Any]) -> Any:
            return db.write(model, _ids(ids), vals)

        def action_confirm(ids: list[int]) -> Any:
            if model != "sale.order":
                raise OdooError(
                    "builtins.AttributeError",
                    f"The method 'action_confirm' does not exist on the model '{model}'",
                    422,
                )
            return db.write(model, _ids(ids), {"state": "sale"})

        return {
            "search": search,
            "search_read": search_read,
            "read": read,
            "search_count": search_count,
            "fields_get": fields_get,
            "create": create,
            "write": write,
            "action_confirm": action_confirm,
        }

    def _create(self, model: str, vals: dict[str, Any]) -> int:
        if model != "sale.order":
            raise OdooError(
                "odoo.exceptions.AccessError",
                f"You are not allowed to create '{model}' records.",
                403,
            )
        if not isinstance(vals, dict):
            raise validation_error(f"Invalid values for sale.order: {vals!r}")
        partner_id = vals.get("partner_id")
        if not partner_id or self.db.get("res.partner", int(partner_id)) is None:
            raise validation_error(
                "The operation cannot be completed:\n"
                "- Create/update: a mandatory field is not set.\n"
                "- Delete: another model requires the record being deleted.\n\n"
                "Model: Sales Order (sale.order)\nField: Customer (partner_id)"
            )
        lines = [self._line_values(command) for command in vals.get("order_line") or []]
        ref = str(vals.get("client_order_ref") or "")
        rejected = self.faults.strikes("reject", "erp", key=ref or None)
        if rejected is not None:
            self.rejected_orders += 1
            raise validation_error(str(rejected.param("message")))
        if self.faults.strikes("lost", "erp", key=ref or None) is not None:
            self.lost_orders += 1
            return self.db.reserve_id("sale.order")
        visible_at = None
        slow = self.faults.strikes("slow", "erp", key=ref or None)
        if slow is not None:
            visible_at = self.db.clock() + timedelta(seconds=float(slow.param("delay_seconds")))
        total = sum(
            (Decimal(str(x["product_uom_qty"])) * Decimal(str(x["price_unit"])) for x in lines),
            Decimal(0),
        )
        order_id = self.db.insert(
            "sale.order",
            {
                "name": self.db.next_order_name(),
                "client_order_ref": ref or None,
                "origin": vals.get("origin"),
                "state": vals.get("state", "draft"),
                "partner_id": int(partner_id),
                "currency_id": 1,
                "amount_total": float(round(total, 2)),
                "amount_untaxed": float(round(total, 2)),
                "date_order": timefmt.odoo(self.db.clock()),
            },
            visible_at=visible_at,
        )
        for line in lines:
            self.db.insert("sale.order.line", {**line, "order_id": order_id}, visible_at=visible_at)
        return order_id

    def _line_values(self, command: Any) -> dict[str, Any]:
        if not (isinstance(command, list | tuple) and len(command) == 3 and command[0] == 0):
            raise validation_error(
                f"Unsupported order_line command {command!r}; use [0, 0, values]"
            )
        values = command[2]
        product = self.db.get("product.product", int(values.get("product_id") or 0))
        if product is None:
            raise validation_error(
                "The operation cannot be completed: Sales Order Line (sale.order.line) Product "
                f"(product_id) refers to a missing record {values.get('product_id')!r}"
            )
        quantity = float(values.get("product_uom_qty", 1))
        price = float(values.get("price_unit", product["list_price"]))
        return {
            "product_id": product["id"],
            "name": values.get("name") or product["name"],
            "product_uom_qty": quantity,
            "price_unit": price,
            "price_subtotal": round(quantity * price, 2),
            "is_delivery": bool(values.get("is_delivery")),
        }


def _ids(ids: Any) -> list[int]:
    if isinstance(ids, int):
        return [ids]
    return [int(i) for i in ids]
