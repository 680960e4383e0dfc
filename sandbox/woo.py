"""A WooCommerce shop's REST API v3 (``/wp-json/wc/v3``): orders, products, webhooks.

Auth is HTTP Basic with the consumer key and secret (or the ``consumer_key`` /
``consumer_secret`` query parameters); errors are WordPress REST errors
``{"code", "message", "data": {"status"}}``; lists page with ``page``/``per_page`` (1..100) and
tell the totals in ``X-WP-Total`` / ``X-WP-TotalPages``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import JSONResponse, Response

from sandbox.gates import down_response, retry_after
from sandbox.stores import Line, WooOrder, WooProduct
from sandbox.woo_auth import WooAuthenticator
from sandbox.woo_format import (
    PREFIX,
    WooError,
    date_param,
    found,
    item_error,
    order_json,
    page,
    product_json,
    sort_items,
)
from sandbox.woo_more import add_more_routes
from sandbox.world import World

BATCH_LIMIT = 100
ORDER_STATUSES = {
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
}


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from exc


def create_woo_app(world: World) -> FastAPI:
    app = FastAPI(title="Sandbox WooCommerce", openapi_url=None, docs_url=None, redoc_url=None)
    config = world.config.woo
    shop = world.shop

    def base() -> str:
        return world.url("shop")

    @app.middleware("http")
    async def gate(request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not request.url.path.startswith("/wp-json"):
            return await call_next(request)
        fault = world.gate("shop")
        try:
            if fault is not None and fault.kind == "down":
                return await down_response(fault)
            if fault is not None and fault.kind == "throttle":
                raise WooError(
                    429,
                    "woocommerce_rest_too_many_requests",
                    "Too many requests. Please wait and try again.",
                )
            _authenticate(request, revoked=fault is not None and fault.kind == "token_expired")
            return await call_next(request)
        except WooError as exc:
            response = exc.response()
            if exc.status == 429 and fault is not None:
                response.headers["Retry-After"] = retry_after(fault)
            return response

    authenticator = WooAuthenticator(config.consumer_key, config.consumer_secret)

    def _authenticate(request: Request, *, revoked: bool) -> None:
        if request.url.path.rstrip("/") == PREFIX:
            return  # the namespace index is public, as in WordPress
        authenticator.check(
            method=request.method,
            url=str(request.url),
            query=request.url.query,
            headers=request.headers,
            secure=request.url.scheme == "https",
            revoked=revoked,
        )

    @app.exception_handler(WooError)
    async def woo_error(_request: Request, exc: WooError) -> Response:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def no_route(_request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            message = "No route was found matching the URL and request method."
            return WooError(404, "rest_no_route", message).response()
        return WooError(exc.status_code, "rest_error", str(exc.detail)).response()

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> Response:
        names = sorted({str(e["loc"][-1]) for e in exc.errors()})
        return WooError(
            400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(names)}"
        ).response()

    # --- orders -------------------------------------------------------------------------------

    @app.get(PREFIX + "/orders")
    async def list_orders(request: Request) -> Response:
        orders = list(shop.orders.values())
        filters: dict[str, Callable[[WooOrder, datetime], bool]] = {
            "after": lambda o, t: o.date_created > t,
            "before": lambda o, t: o.date_created < t,
            "modified_after": lambda o, t: o.date_modified > t,
            "modified_before": lambda o, t: o.date_modified < t,
        }
        for name, keep in filters.items():
            moment = date_param(request, name)
            if moment is not None:
                orders = [o for o in orders if keep(o, moment)]
        statuses = {
            s for s in request.query_params.get("status", "any").split(",") if s and s != "any"
        }
        if statuses:
            orders = [o for o in orders if o.status in statuses]
        orders = sort_items(request, orders, title=lambda o: o.id, slug=lambda o: o.id)
        return page(request, orders, lambda o: order_json(o, base()))

    @app.get(PREFIX + "/orders/{order_id:int}")
    async def get_order(order_id: int) -> Response:
        return JSONResponse(order_json(_order(order_id), base()))

    @app.post(PREFIX + "/orders")
    async def create_order(request: Request) -> Response:
        body = await _json_body(request)
        lines = []
        for item in body.get("line_items") or []:
            product = shop.products.get(int(item.get("product_id") or 0)) or shop.product_by_sku(
                str(item.get("sku", ""))
            )
            if product is None:
                raise WooError(
                    400, "woocommerce_rest_invalid_product_id", "Invalid product ID or SKU."
                )
            lines.append(
                Line(product.sku, product.name, int(item.get("quantity", 1)), product.price)
            )
        status = str(body.get("status", "pending"))
        if status not in ORDER_STATUSES:
            raise WooError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                params={"status": "status is not one of the order statuses."},
            )
        email = str((body.get("billing") or {}).get("email", ""))
        order = shop.create_order(lines, world.clock(), status=status, email=email)
        return JSONResponse(order_json(order, base()), status_code=201)

    @app.put(PREFIX + "/orders/{order_id:int}")
    @app.post(PREFIX + "/orders/{order_id:int}")
    async def update_order(order_id: int, request: Request) -> Response:
        order = _order(order_id)
        body = await _json_body(request)
        if "status" in body:
            if body["status"] not in ORDER_STATUSES:
                raise WooError(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): status",
                    params={"status": "status is not one of the order statuses."},
                )
            shop.set_order_status(order, str(body["status"]), world.clock())
        return JSONResponse(order_json(order, base()))

    def _order(order_id: int) -> WooOrder:
        return found(shop.orders, order_id, "woocommerce_rest_shop_order_invalid_id")

    # --- products -----------------------------------------------------------------------------

    @app.get(PREFIX + "/products")
    async def list_products(request: Request) -> Response:
        # variations are not products of their own here: /products/{id}/variations lists them
        products = [p for p in shop.products.values() if p.type != "variation"]
        skus = {s for s in request.query_params.get("sku", "").split(",") if s}
        if skus:
            products = [p for p in products if p.sku in skus]
        # WooCommerce's list filters: product type and stock status
        if wanted := request.query_params.get("type"):
            products = [p for p in products if p.type == wanted]
        if wanted := request.query_params.get("stock_status"):
            products = [p for p in products if p.stock_status == wanted]
        moment = date_param(request, "modified_after")
        if moment is not None:
            products = [p for p in products if p.date_modified > moment]
        products = sort_items(
            request, products, title=lambda p: p.name, slug=lambda p: p.sku.lower()
        )
        return page(request, products, lambda p: product_json(p, base()))

    @app.get(PREFIX + "/products/{product_id:int}")
    async def get_product(product_id: int) -> Response:
        return JSONResponse(product_json(_product(product_id), base()))

    @app.put(PREFIX + "/products/{product_id:int}")
    @app.post(PREFIX + "/products/{product_id:int}")
    async def update_product(product_id: int, request: Request) -> Response:
        body = await _json_body(request)
        return JSONResponse(_apply_product_update(_product(product_id), body))

    @app.get(PREFIX + "/products/{product_id:int}/variations")
    async def list_variations(product_id: int, request: Request) -> Response:
        parent = _product(product_id)
        variations = [shop.products[i] for i in parent.variations if i in shop.products]
        return page(request, variations, lambda p: product_json(p, base()))

    @app.post(PREFIX + "/products/{product_id:int}/variations/batch")
    @app.put(PREFIX + "/products/{product_id:int}/variations/batch")
    async def batch_variations(product_id: int, request: Request) -> Response:
        parent = _product(product_id)
        return await _batch(
            request, lambda i: shop.products.get(i) if i in parent.variations else None
        )

    @app.post(PREFIX + "/products/batch")
    @app.put(PREFIX + "/products/batch")
    async def batch_products(request: Request) -> Response:
        return await _batch(request, shop.products.get)

    async def _batch(request: Request, lookup: Callable[[int], WooProduct | None]) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
        count = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if count > BATCH_LIMIT:
            raise WooError(
                413,
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
            )
        result: dict[str, list[dict[str, Any]]] = {}
        if body.get("create"):
            result["create"] = [
                item_error(
                    0,
                    "woocommerce_rest_cannot_create",
                    "Creating products is disabled in this sandbox.",
                    403,
                )
                for _ in body["create"]
            ]
        if body.get("update"):
            result["update"] = []
            for item in body["update"]:
                product = lookup(int(item.get("id") or 0)) if isinstance(item, dict) else None
                if product is None:
                    result["update"].append(
                        item_error(
                            int(item.get("id") or 0) if isinstance(item, dict) else 0,
                            "woocommerce_rest_product_invalid_id",
                            "Invalid ID.",
                            400,
                        )
                    )
                    continue
                try:
                    result["update"].append(_apply_product_update(product, item))
                except WooError as exc:
                    result["update"].append(
                        item_error(product.id, exc.code, exc.message, exc.status)
                    )
        if body.get("delete"):
            result["delete"] = [
                item_error(
                    int(i),
                    "woocommerce_rest_cannot_delete",
                    "Deleting products is disabled in this sandbox.",
                    403,
                )
                for i in body["delete"]
            ]
        return JSONResponse(result)

    def _apply_product_update(product: WooProduct, body: dict[str, Any]) -> dict[str, Any]:
        if "manage_stock" in body:
            product.manage_stock = bool(body["manage_stock"])
        if "stock_quantity" in body:
            try:
                quantity = int(body["stock_quantity"])
            except (TypeError, ValueError) as exc:
                raise WooError(
                    400,
                    "rest_invalid_param",
                    "Invalid parameter(s): stock_quantity",
                    params={"stock_quantity": "stock_quantity is not of type integer."},
                ) from exc
            rejected = world.faults.strikes("reject", "shop", key=f"{product.sku}:{quantity}")
            if rejected is not None:
                raise WooError(
                    400,
                    "woocommerce_rest_invalid_stock_quantity",
                    str(
                        rejected.params.get("message")
                        or "Stock quantity is not valid for this product."
                    ),
                )
            if world.faults.strikes("lost", "shop", key=f"{product.sku}:{quantity}") is not None:
                # acknowledged as saved, but the stock never changes
                shown = product_json(product, base())
                shown["stock_quantity"] = quantity
                return shown
            shop.set_stock(product, quantity, world.clock())
        return product_json(product, base())

    def _product(product_id: int) -> WooProduct:
        return found(shop.products, product_id, "woocommerce_rest_product_invalid_id")

    # --- webhooks (read-only: they are configured by the sandbox's settings) -------------------

    @app.get(PREFIX + "/webhooks")
    async def list_webhooks(request: Request) -> Response:
        hooks = world.webhooks.hooks if world.webhooks is not None else []
        return page(request, hooks, lambda h: h.to_json())

    add_more_routes(app, world, base, _order)
    return app
