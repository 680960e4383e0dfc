"""A BaseLinker account's API: one endpoint, ``POST /connector.php``.

The caller sends the token in ``X-BLToken`` (or the deprecated ``token`` form field) and the
form fields ``method`` and ``parameters`` (a JSON object). Every answer is HTTP 200 JSON with
``status``: ``SUCCESS`` and the method's data, or ``ERROR`` with ``error_code`` and
``error_message``. Past 100 requests a minute for a token, BaseLinker blocks the account
(``ERROR_USER_ACCOUNT_BLOCKED``) until the window frees up.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import JSONResponse, Response

from sandbox import timefmt
from sandbox.gates import down_response
from sandbox.stores import BL_SHOP_SOURCE_ID, BL_STATUSES, BlOrder, BlProduct
from sandbox.world import World

ORDERS_PER_CALL = 100
PRODUCTS_PER_PAGE = 1000
JOURNAL_DAYS = 3
JOURNAL_PER_CALL = 100


class BlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"status": "ERROR", "error_code": self.code, "error_message": self.message}
        )


class RateLimiter:
    """Requests per token in a sliding minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}

    def admit(self, token: str) -> bool:
        now = self._clock()
        window = self._seen.setdefault(token, deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True

    def used(self, token: str) -> int:
        now = self._clock()
        return sum(1 for t in self._seen.get(token, ()) if t > now - 60.0)


def order_json(order: BlOrder, world: World) -> dict[str, Any]:
    oms = world.oms
    products = []
    for index, line in enumerate(order.lines, start=1):
        product = oms.product_by_sku(line.sku)
        products.append(
            {
                "storage": "db",
                "storage_id": oms.inventory_id,
                "order_product_id": order.order_id * 10 + index,
                "product_id": str(product.product_id) if product else "",
                "variant_id": 0,
                "name": line.name,
                "attributes": "",
                "sku": line.sku,
                "ean": "",
                "location": "",
                "warehouse_id": int(oms.warehouse.split("_")[-1]),
                "auction_id": "0",
                "price_brutto": float(line.price),
                "tax_rate": 23,
                "quantity": line.quantity,
                "weight": 0,
                "bundle_id": 0,
            }
        )
    return {
        "order_id": order.order_id,
        "shop_order_id": order.shop_order_id,
        "external_order_id": order.external_order_id,
        "order_source": "shop",
        "order_source_id": BL_SHOP_SOURCE_ID,
        "order_source_info": "Sandbox WooCommerce",
        "order_status_id": order.status_id,
        "confirmed": True,
        "date_confirmed": timefmt.unix(order.date_confirmed),
        "date_add": timefmt.unix(order.date_add),
        "date_in_status": timefmt.unix(order.date_in_status),
        "user_login": "",
        "phone": "",
        "email": order.email,
        "user_comments": "",
        "admin_comments": "",
        "currency": order.currency,
        "payment_method": order.payment_method or "Direct bank transfer",
        "payment_method_cod": "1" if order.payment_method == "Cash on delivery" else "0",
        "payment_done": float(order.payment_done),
        "delivery_method": order.delivery_method or "Courier",
        "delivery_price": float(order.delivery_price),
        "delivery_fullname": "Sandbox Buyer",
        "delivery_country_code": "PL",
        "invoice_fullname": "",
        "want_invoice": "0",
        "extra_field_1": "",
        "extra_field_2": "",
        "order_page": "",
        "pick_state": 0,
        "pack_state": 0,
        "products": products,
    }


def _stock(world: World, product: BlProduct) -> dict[str, int]:
    return {world.oms.warehouse: product.stock}


def create_baselinker_app(world: World) -> FastAPI:
    app = FastAPI(title="Sandbox BaseLinker", openapi_url=None, docs_url=None, redoc_url=None)
    limiter = RateLimiter(world.config.baselinker_rate_limit_per_minute)
    app.state.limiter = limiter
    oms = world.oms
    token = world.config.baselinker.token

    @app.middleware("http")
    async def gate(request: Request, call_next: RequestResponseEndpoint) -> Response:
        fault = world.faults.strikes("down", "oms")
        if fault is not None:
            return await down_response(fault)
        return await call_next(request)

    @app.post("/connector.php")
    async def connector(request: Request) -> Response:
        form = await request.form()
        given = request.headers.get("x-bltoken") or str(form.get("token") or "")
        try:
            if world.faults.strikes("token_expired", "oms") is not None or given != token:
                raise BlError("ERROR_BAD_TOKEN", "Invalid user token")
            if world.faults.strikes("throttle", "oms") is not None or not limiter.admit(given):
                raise BlError(
                    "ERROR_USER_ACCOUNT_BLOCKED",
                    "Query limit exceeded (100 requests per minute), account temporarily blocked",
                )
            method = str(form.get("method") or "")
            try:
                parameters = json.loads(str(form.get("parameters") or "{}"))
            except ValueError as exc:
                raise BlError("ERROR_PARAMETERS", "Invalid JSON in 'parameters'") from exc
            if not isinstance(parameters, dict):
                raise BlError("ERROR_PARAMETERS", "'parameters' must be a JSON object")
            handler = METHODS.get(method)
            if handler is None:
                raise BlError("ERROR_UNKNOWN_METHOD", f"An unknown method was called: {method!r}")
            return JSONResponse({"status": "SUCCESS", **handler(parameters)})
        except BlError as exc:
            return exc.response()

    def _int(params: dict[str, Any], name: str, default: int | None = None) -> int | None:
        value = params.get(name, default)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise BlError("ERROR_PARAMETERS", f"Invalid value of parameter '{name}'") from exc

    def get_orders(params: dict[str, Any]) -> dict[str, Any]:
        orders = sorted(oms.orders.values(), key=lambda o: (o.date_confirmed, o.order_id))
        order_id = _int(params, "order_id")
        if order_id is not None:
            orders = [o for o in orders if o.order_id == order_id]
        confirmed_from = _int(params, "date_confirmed_from")
        if confirmed_from is not None:
            orders = [o for o in orders if timefmt.unix(o.date_confirmed) >= confirmed_from]
        date_from = _int(params, "date_from")
        if date_from is not None:
            orders = [o for o in orders if timefmt.unix(o.date_add) >= date_from]
        id_from = _int(params, "id_from")
        if id_from is not None:
            orders = [o for o in orders if o.order_id > id_from]
        status_id = _int(params, "status_id")
        if status_id is not None:
            orders = [o for o in orders if o.status_id == status_id]
        shop_order_id = _int(params, "filter_shop_order_id")
        if shop_order_id is not None:
            orders = [o for o in orders if o.shop_order_id == shop_order_id]
        if params.get("filter_email"):
            orders = [o for o in orders if o.email == params["filter_email"]]
        if params.get("filter_order_source") not in (None, "", "shop"):
            orders = []
        return {"orders": [order_json(o, world) for o in orders[:ORDERS_PER_CALL]]}

    def get_journal_list(params: dict[str, Any]) -> dict[str, Any]:
        if not world.config.baselinker_journal_enabled:
            return {"logs": []}
        last = _int(params, "last_log_id")
        if last is None:
            raise BlError("ERROR_PARAMETERS", "Missing parameter 'last_log_id'")
        types = {int(t) for t in params.get("logs_types") or []}
        order_id = _int(params, "order_id")
        oldest = world.clock() - timedelta(days=JOURNAL_DAYS)
        logs = [
            {
                "log_id": e.id,  # the documented key (some published clients read "id")
                "order_id": e.order_id,
                "log_type": e.log_type,
                "object_id": e.object_id,
                "date": timefmt.unix(e.date),
            }
            for e in oms.journal
            if e.id > last
            and e.date >= oldest
            and (not types or e.log_type in types)
            and (order_id is None or e.order_id == order_id)
        ]
        return {"logs": logs[:JOURNAL_PER_CALL]}

    def get_inventories(_params: dict[str, Any]) -> dict[str, Any]:
        return {
            "inventories": [
                {
                    "inventory_id": oms.inventory_id,
                    "name": "Default",
                    "description": "Sandbox catalog",
                    "languages": ["en"],
                    "default_language": "en",
                    "price_groups": [1],
                    "default_price_group": 1,
                    "warehouses": [oms.warehouse],
                    "default_warehouse": oms.warehouse,
                    "reservations": False,
                    "is_default": True,
                }
            ]
        }

    def get_inventory_warehouses(_params: dict[str, Any]) -> dict[str, Any]:
        kind, _, number = oms.warehouse.partition("_")
        return {
            "warehouses": [
                {
                    "warehouse_type": kind,
                    "warehouse_id": int(number),
                    "name": "Default",
                    "description": "",
                    "stock_edition": True,
                    "is_default": True,
                }
            ]
        }

    def _inventory(params: dict[str, Any]) -> None:
        if _int(params, "inventory_id") != oms.inventory_id:
            raise BlError("ERROR_INVENTORY_NOT_FOUND", "Inventory with the given ID does not exist")

    def _products_page(params: dict[str, Any], products: list[BlProduct]) -> list[BlProduct]:
        page = _int(params, "page", 1) or 1
        return products[(page - 1) * PRODUCTS_PER_PAGE : page * PRODUCTS_PER_PAGE]

    def get_inventory_products_stock(params: dict[str, Any]) -> dict[str, Any]:
        _inventory(params)
        products = _products_page(params, sorted(oms.products.values(), key=lambda p: p.product_id))
        return {
            "products": {
                str(p.product_id): {
                    "product_id": p.product_id,
                    "stock": _stock(world, p),
                    "variants": [],
                }
                for p in products
            }
        }

    def get_inventory_products_list(params: dict[str, Any]) -> dict[str, Any]:
        _inventory(params)
        products = sorted(oms.products.values(), key=lambda p: p.product_id)
        if params.get("filter_sku"):
            products = [p for p in products if p.sku == params["filter_sku"]]
        filter_id = _int(params, "filter_id")
        if filter_id is not None:
            products = [p for p in products if p.product_id == filter_id]
        return {
            "products": {
                str(p.product_id): {
                    "id": p.product_id,
                    "ean": "",
                    "sku": p.sku,
                    "name": p.name,
                    "prices": {"1": float(p.price)},
                    "stock": _stock(world, p),
                }
                for p in _products_page(params, products)
            }
        }

    def get_order_status_list(_params: dict[str, Any]) -> dict[str, Any]:
        return {
            "statuses": [
                {"id": sid, "name": name, "name_for_customer": name, "color": color}
                for sid, (name, color) in BL_STATUSES.items()
            ]
        }

    def get_order_sources(_params: dict[str, Any]) -> dict[str, Any]:
        return {
            "sources": {
                "personal": {"0": "Personal"},
                "shop": {str(BL_SHOP_SOURCE_ID): "Sandbox WooCommerce"},
            }
        }

    METHODS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
        "getOrders": get_orders,
        "getJournalList": get_journal_list,
        "getInventories": get_inventories,
        "getInventoryWarehouses": get_inventory_warehouses,
        "getInventoryProductsStock": get_inventory_products_stock,
        "getInventoryProductsList": get_inventory_products_list,
        "getOrderStatusList": get_order_status_list,
        "getOrderSources": get_order_sources,
    }

    return app
