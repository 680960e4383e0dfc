"""A Magento 2 store's REST API (``/rest/<store_code>/V1/``): orders and MSI source items.

Lists take ``searchCriteria`` in PHP's bracket notation
(``searchCriteria[filter_groups][0][filters][0][field]=updated_at`` with ``[value]`` and
``[condition_type]``; filters of one group are OR-ed, groups AND-ed), ``[pageSize]`` and
``[currentPage]``, and answer ``{"items", "search_criteria", "total_count"}``. Auth is a bearer
integration token; errors are ``{"message", "parameters"}`` with ``%name`` placeholders.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from oauthlib.oauth1.rfc5849 import signature
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import JSONResponse, Response

from sandbox import timefmt
from sandbox.gates import down_response, retry_after
from sandbox.stores import MagentoOrder, MagentoSourceItem
from sandbox.woo_auth import signature_matches
from sandbox.world import World

_KEY = re.compile(r"^searchCriteria((?:\[[A-Za-z0-9_]+\])*)$")
_PART = re.compile(r"\[([A-Za-z0-9_]+)\]")
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "from": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "to": operator.le,
}
CONDITIONS = {
    "eq",
    "neq",
    "gt",
    "gteq",
    "lt",
    "lteq",
    "in",
    "nin",
    "like",
    "nlike",
    "null",
    "notnull",
    "from",
    "to",
}


class MagentoError(Exception):
    def __init__(
        self, status: int, message: str, parameters: dict[str, Any] | list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.parameters = (
            status,
            message,
            parameters if parameters is not None else [],
        )

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"message": self.message, "parameters": self.parameters}, status_code=self.status
        )


def unauthorized(resource: str) -> MagentoError:
    return MagentoError(
        401, "The consumer isn't authorized to access %resources.", {"resources": resource}
    )


def parse_search_criteria(query: list[tuple[str, str]]) -> dict[str, Any] | None:
    """The nested ``searchCriteria`` of a query string, or None when it is absent.

    >>> key = "searchCriteria[filter_groups][0][filters][0][field]"
    >>> parse_search_criteria([(key, "updated_at"), ("searchCriteria[pageSize]", "2")])
    {'filter_groups': {'0': {'filters': {'0': {'field': 'updated_at'}}}}, 'pageSize': '2'}
    """
    found: dict[str, Any] | None = None
    for key, value in query:
        match = _KEY.match(key)
        if match is None:
            continue
        found = found if found is not None else {}
        parts = _PART.findall(match.group(1))
        node = found
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise MagentoError(
                    400, '"%fieldName" is not a valid search criteria.', {"fieldName": key}
                )
            node = child
        if parts:
            node[parts[-1]] = value
    return found


def _comparable(field: str, value: Any) -> Any:
    if field.endswith("_at") and isinstance(value, str) and value:
        try:
            return timefmt.parse(value)
        except ValueError:
            return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value) if re.fullmatch(r"-?\d+(\.\d+)?", value) else value
        except ValueError:
            return value
    return value


def _matches(actual: Any, condition: str, expected: str, field: str) -> bool:
    if condition == "null":
        return actual is None
    if condition == "notnull":
        return actual is not None
    if actual is None:
        return False
    if condition in {"in", "nin"}:
        options = {str(_comparable(field, v.strip())) for v in expected.split(",")}
        return (str(_comparable(field, actual)) in options) == (condition == "in")
    if condition in {"like", "nlike"}:
        pattern = "^" + re.escape(expected).replace("%", ".*") + "$"
        return bool(re.match(pattern, str(actual), re.IGNORECASE)) == (condition == "like")
    left, right = _comparable(field, actual), _comparable(field, expected)
    try:
        return bool(_COMPARE[condition](left, right))
    except TypeError:
        return False


def _sorter(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    return lambda row: (row.get(field) is None, _comparable(field, row.get(field)))


def search(
    rows: list[dict[str, Any]], criteria: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Filter, sort and page ``rows`` (flat dicts) as Magento's repositories do."""
    echo: dict[str, Any] = {"filter_groups": []}
    groups = criteria.get("filter_groups") or {}
    for _, group in sorted(groups.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0):
        filters = []
        for _, spec in sorted((group.get("filters") or {}).items()):
            field = spec.get("field")
            if not field:
                raise MagentoError(
                    400, '"%fieldName" is required. Enter and try again.', {"fieldName": "field"}
                )
            condition = spec.get("condition_type", "eq")
            if condition not in CONDITIONS:
                raise MagentoError(
                    400,
                    'Invalid value of "%value" provided for the %fieldName field.',
                    {"value": condition, "fieldName": "condition_type"},
                )
            filters.append(
                {"field": field, "value": spec.get("value", ""), "condition_type": condition}
            )
        if filters:
            echo["filter_groups"].append({"filters": filters})
            rows = [
                r
                for r in rows
                if any(
                    _matches(r.get(f["field"]), f["condition_type"], f["value"], f["field"])
                    for f in filters
                )
            ]
    sorts = criteria.get("sortOrders") or {}
    orders = [s for _, s in sorted(sorts.items()) if s.get("field")]
    for sort in reversed(orders):
        descending = str(sort.get("direction", "ASC")).upper() == "DESC"
        rows = sorted(rows, key=_sorter(str(sort["field"])), reverse=descending)
    if orders:
        echo["sort_orders"] = [
            {"field": s["field"], "direction": str(s.get("direction", "ASC")).upper()}
            for s in orders
        ]
    total = len(rows)
    if criteria.get("pageSize"):
        size = max(int(criteria["pageSize"]), 1)
        page = max(int(criteria.get("currentPage") or 1), 1)
        rows = rows[(page - 1) * size : page * size]
        echo["page_size"] = size
        echo["current_page"] = page
    return rows, {"search_criteria": echo, "total_count": total}


def order_json(order: MagentoOrder) -> dict[str, Any]:
    created, updated = timefmt.odoo(order.created_at), timefmt.odoo(order.updated_at)
    total = float(order.grand_total)
    return {
        "entity_id": order.entity_id,
        "increment_id": order.increment_id,
        "state": order.state,
        "status": order.status,
        "store_id": 1,
        "grand_total": total,
        "base_grand_total": total,
        "subtotal": total,
        "base_subtotal": total,
        "tax_amount": 0,
        "shipping_amount": 0,
        "order_currency_code": order.currency,
        "base_currency_code": order.currency,
        "global_currency_code": order.currency,
        "customer_email": order.email,
        "customer_is_guest": 1,
        "created_at": created,
        "updated_at": updated,
        "total_item_count": len(order.lines),
        "total_qty_ordered": sum(line.quantity for line in order.lines),
        "items": [
            {
                "item_id": order.entity_id * 10 + i,
                "order_id": order.entity_id,
                "sku": line.sku,
                "name": line.name,
                "product_type": "simple",
                "qty_ordered": line.quantity,
                "price": float(line.price),
                "base_price": float(line.price),
                "row_total": float(line.total),
                "created_at": created,
                "updated_at": updated,
            }
            for i, line in enumerate(order.lines, start=1)
        ],
        "payment": {"method": "checkmo"},
        "status_histories": [],
        "extension_attributes": {},
    }


def source_item_json(item: MagentoSourceItem) -> dict[str, Any]:
    return {
        "sku": item.sku,
        "source_code": item.source_code,
        "quantity": item.quantity,
        "status": item.status,
    }


def create_magento_app(world: World) -> FastAPI:
    app = FastAPI(title="Sandbox Magento 2", openapi_url=None, docs_url=None, redoc_url=None)
    creds = world.config.magento
    store = world.magento
    stores = {creds.store_code, "default", "all"}

    @app.middleware("http")
    async def gate(request: Request, call_next: RequestResponseEndpoint) -> Response:
        fault = world.gate("magento")
        if fault is not None and fault.kind == "down":
            return await down_response(fault)
        if fault is not None and fault.kind == "throttle":
            response = MagentoError(429, "Too many requests. Try again later.").response()
            response.headers["Retry-After"] = retry_after(fault)
            return response
        try:
            resource = (
                "Magento_InventoryApi::source"
                if "inventory" in request.url.path
                else "Magento_Sales::actions_view"
            )
            if fault is not None or not authorized(request):
                raise unauthorized(resource)
            return await call_next(request)
        except MagentoError as exc:
            return exc.response()

    @app.exception_handler(MagentoError)
    async def magento_error(_request: Request, exc: MagentoError) -> Response:
        return exc.response()

    def authorized(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "bearer":
            return creds.integration_as_bearer and token.strip() == creds.token
        if scheme.lower() != "oauth":
            return False
        try:
            sent = dict(signature.collect_parameters(headers={"Authorization": header}))
            sent_signature = dict(
                signature.collect_parameters(
                    headers={"Authorization": header}, exclude_oauth_signature=False
                )
            ).get("oauth_signature", "")
        except ValueError:
            return False
        return (
            sent.get("oauth_consumer_key") == creds.consumer_key
            and sent.get("oauth_token") == creds.token
            and signature_matches(
                request.method,
                str(request.url),
                request.url.query,
                {"Authorization": header},
                sent_signature,
                creds.consumer_secret,
                creds.token_secret,
            )
        )

    def check_store(code: str) -> None:
        """The store code of a path (``/rest/{store_code}/V1/...``; ``/rest/V1/...`` is the
        ``default`` store) must name a store."""
        if code not in stores:
            raise MagentoError(
                400, "The store that was requested wasn't found. Verify the store and try again."
            )

    def criteria(request: Request) -> dict[str, Any]:
        found = parse_search_criteria(list(request.query_params.multi_items()))
        if found is None:
            raise MagentoError(
                400,
                '"%fieldName" is required. Enter and try again.',
                {"fieldName": "searchCriteria"},
            )
        return found

    def order_rows() -> list[dict[str, Any]]:
        return [order_json(o) for o in store.orders.values()]

    @app.get("/rest/{store_code}/V1/orders")
    @app.get("/rest/V1/orders")
    async def list_orders(request: Request) -> Response:
        check_store(request.path_params.get("store_code", "default"))
        items, envelope = search(order_rows(), criteria(request))
        return JSONResponse({"items": items, **envelope})

    @app.get("/rest/{store_code}/V1/orders/{order_id}")
    @app.get("/rest/V1/orders/{order_id}")
    async def get_order(request: Request, order_id: int) -> Response:
        check_store(request.path_params.get("store_code", "default"))
        order = store.orders.get(order_id)
        if order is None:
            raise MagentoError(
                404, "The entity that was requested doesn't exist. Verify the entity and try again."
            )
        return JSONResponse(order_json(order))

    @app.get("/rest/{store_code}/V1/inventory/source-items")
    @app.get("/rest/V1/inventory/source-items")
    async def list_source_items(request: Request) -> Response:
        check_store(request.path_params.get("store_code", "default"))
        rows = [source_item_json(i) for i in store.source_items.values()]
        items, envelope = search(rows, criteria(request))
        return JSONResponse({"items": items, **envelope})

    add_stock_routes(app, world, check_store)
    add_health_routes(app, world, check_store)
    return app


MODULES = (
    "Magento_Store", "Magento_Backend", "Magento_Cron", "Magento_Indexer", "Magento_Catalog",
    "Magento_CatalogInventory", "Magento_Sales", "Magento_Integration", "Magento_Webapi",
    "Magento_InventoryApi", "Magento_Inventory", "Magento_InventorySalesApi",
    "Magento_InventorySales", "PayPal_Braintree",
)  # fmt: skip
"""The enabled modules the imitation reports (a 2.4 shop with MSI and a bundled extension)."""


def add_health_routes(app: FastAPI, world: World, check_store: Callable[[str], None]) -> None:
    """What core Magento's REST API tells of the shop itself: its enabled modules and its
    store views' configuration. Like the real one, nothing about cron or indexers."""
    code = world.config.magento.store_code

    @app.get("/rest/{store_code}/V1/modules")
    async def modules(store_code: str) -> Response:
        check_store(store_code)
        return JSONResponse(list(MODULES))

    @app.get("/rest/{store_code}/V1/store/storeConfigs")
    async def store_configs(request: Request, store_code: str) -> Response:
        check_store(store_code)
        base = str(request.base_url)
        return JSONResponse(
            [
                {
                    "id": 1, "code": code, "website_id": 1, "locale": "pl_PL",
                    "base_currency_code": "PLN", "default_display_currency_code": "PLN",
                    "timezone": "Europe/Warsaw", "weight_unit": "kgs",
                    "base_url": base, "secure_base_url": base,
                }
            ]
        )  # fmt: skip


def add_stock_routes(app: FastAPI, world: World, check_store: Callable[[str], None]) -> None:
    """What the shop sells: MSI's salable quantity per stock (one stock, id 1, for website
    ``base``, with the ``default`` source; no reservations here), the legacy stock items, and
    the store views and websites a client resolves its stock from."""
    store = world.magento
    code = world.config.magento.store_code

    def quantity(sku: str) -> int:
        item = store.source_items.get(sku)
        if item is None:
            raise MagentoError(
                404,
                "The product that was requested doesn't exist. Verify the product and try again.",
            )
        return item.quantity

    @app.get("/rest/{store_code}/V1/store/storeViews")
    async def store_views(store_code: str) -> Response:
        check_store(store_code)
        views = [{"id": 1, "code": code, "name": "Default Store View", "website_id": 1}]
        if code != "default":
            views.append({"id": 2, "code": "default", "name": "Default", "website_id": 1})
        return JSONResponse([{**v, "store_group_id": 1, "is_active": 1} for v in views])

    @app.get("/rest/{store_code}/V1/store/websites")
    async def websites(store_code: str) -> Response:
        check_store(store_code)
        return JSONResponse(
            [
                {"id": 0, "code": "admin", "name": "Admin", "default_group_id": 0},
                {"id": 1, "code": "base", "name": "Main Website", "default_group_id": 1},
            ]
        )

    @app.get("/rest/{store_code}/V1/inventory/stock-resolver/website/{website}")
    async def stock_resolver(store_code: str, website: str) -> Response:
        check_store(store_code)
        if website != "base":
            raise MagentoError(404, "No linked stock found")
        return JSONResponse(
            {
                "stock_id": 1,
                "name": "Default Stock",
                "extension_attributes": {"sales_channels": [{"type": "website", "code": "base"}]},
            }
        )

    @app.get("/rest/{store_code}/V1/inventory/get-product-salable-quantity/{sku}/{stock_id}")
    async def salable(store_code: str, sku: str, stock_id: int) -> Response:
        check_store(store_code)
        if stock_id != 1:
            raise MagentoError(404, 'Stock with id "%value" does not exist.', {"value": stock_id})
        return JSONResponse(float(quantity(sku)))

    @app.get("/rest/{store_code}/V1/stockItems/{sku}")
    async def stock_item(store_code: str, sku: str) -> Response:
        check_store(store_code)
        amount = quantity(sku)
        return JSONResponse(
            {
                "item_id": 1,
                "product_id": 1,
                "stock_id": 1,
                "qty": amount,
                "is_in_stock": amount > 0,
                "manage_stock": True,
            }
        )


def touch(order: MagentoOrder, status: str, moment: datetime) -> None:
    order.status = status
    order.updated_at = moment
