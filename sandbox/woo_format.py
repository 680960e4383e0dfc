"""WooCommerce's REST representations and conventions: errors, orders and products as the
API shows them (and webhooks send them), paging and sorting of lists."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import Request
from starlette.responses import JSONResponse, Response

from sandbox import timefmt
from sandbox.stores import PAYMENT_METHODS, Charge, WooOrder, WooProduct

PREFIX = "/wp-json/wc/v3"
PER_PAGE_LIMIT = 100

Item = TypeVar("Item")


class WooError(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def response(self) -> JSONResponse:
        body = {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }
        return JSONResponse(body, status_code=self.status)


def found(items: Mapping[int, Item], item_id: int, code: str) -> Item:
    """The item of that id, or WooCommerce's 404 for an unknown one with the resource's
    ``code`` (``woocommerce_rest_<resource>_invalid_id``)."""
    item = items.get(item_id)
    if item is None:
        raise WooError(404, code, "Invalid ID.")
    return item


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def order_json(order: WooOrder, base: str) -> dict[str, Any]:
    line_items = []
    for index, line in enumerate(order.lines, start=1):
        line_items.append(
            {
                "id": order.id * 10 + index,
                "name": line.name,
                "product_id": line.product_id,
                "variation_id": line.variation_id,
                "quantity": line.quantity,
                "tax_class": "",
                "subtotal": _money(line.subtotal),
                "subtotal_tax": "0.00",
                "total": _money(line.total),
                "total_tax": "0.00",
                "taxes": [],
                "meta_data": [],
                "sku": line.sku,
                "price": float(line.total / line.quantity) if line.quantity else 0.0,
            }
        )
    paid = order.date_paid
    completed = order.status == "completed"
    return {
        "id": order.id,
        "parent_id": 0,
        "number": order.number,
        "order_key": f"wc_order_{order.id:x}sbx",
        "created_via": "checkout",
        "version": "9.4.0",
        "status": order.status,
        "currency": order.currency,
        "date_created": timefmt.woo(order.date_created),
        "date_created_gmt": timefmt.woo(order.date_created),
        "date_modified": timefmt.woo(order.date_modified),
        "date_modified_gmt": timefmt.woo(order.date_modified),
        "discount_total": _money(order.discount_total),
        "discount_tax": "0.00",
        "shipping_total": _money(order.shipping_total),
        "shipping_tax": "0.00",
        "cart_tax": "0.00",
        "total": _money(order.total),
        "total_tax": "0.00",
        "prices_include_tax": True,
        "customer_id": 0,
        "customer_note": "",
        "billing": {
            "first_name": "Sandbox",
            "last_name": "Buyer",
            "email": order.email,
            "country": "PL",
        },
        "shipping": {"first_name": "Sandbox", "last_name": "Buyer", "country": "PL"},
        "payment_method": order.payment_method,
        "payment_method_title": PAYMENT_METHODS.get(order.payment_method, order.payment_method),
        "transaction_id": "",
        "date_paid": timefmt.woo(paid) if paid else None,
        "date_paid_gmt": timefmt.woo(paid) if paid else None,
        "date_completed": timefmt.woo(order.date_modified) if completed else None,
        "date_completed_gmt": timefmt.woo(order.date_modified) if completed else None,
        "meta_data": [],
        "line_items": line_items,
        "shipping_lines": [
            _charge_json(
                order.id * 10 + 7,
                charge,
                method_title=charge.name,
                method_id=charge.method_id,
                instance_id="1",
            )
            for charge in order.shipping
        ],
        "fee_lines": [
            _charge_json(
                order.id * 10 + 8,
                charge,
                name=charge.name,
                tax_class="",
                tax_status="taxable",
                amount=_money(charge.total),
            )
            for charge in order.fees
        ],
        "coupon_lines": [
            {
                "id": order.id * 10 + 9,
                "code": order.coupon,
                "discount": _money(order.discount_total),
                "discount_tax": "0.00",
                "meta_data": [],
            }
        ]
        if order.coupon
        else [],
        "refunds": [],
        "_links": {
            "self": [{"href": f"{base}{PREFIX}/orders/{order.id}"}],
            "collection": [{"href": f"{base}{PREFIX}/orders"}],
        },
    }


def _charge_json(item_id: int, charge: Charge, **fields: str) -> dict[str, Any]:
    """A shipping or fee line: its own fields, then what both kinds carry."""
    return {
        "id": item_id,
        **fields,
        "total": _money(charge.total),
        "total_tax": "0.00",
        "taxes": [],
        "meta_data": [],
    }


def product_json(product: WooProduct, base: str) -> dict[str, Any]:
    return {
        "id": product.id,
        "name": product.name,
        "slug": product.sku.lower(),
        "permalink": f"{base}/product/{product.sku.lower()}/",
        "date_created": timefmt.woo(product.date_created),
        "date_created_gmt": timefmt.woo(product.date_created),
        "date_modified": timefmt.woo(product.date_modified),
        "date_modified_gmt": timefmt.woo(product.date_modified),
        "type": product.type,
        "parent_id": product.parent_id,
        "variations": list(product.variations),
        "status": "publish",
        "sku": product.sku,
        "price": _money(product.price),
        "regular_price": _money(product.price),
        "sale_price": "",
        "manage_stock": product.manage_stock,
        "stock_quantity": product.stock_quantity if product.manage_stock else None,
        "stock_status": product.stock_status,
        "backorders": "no",
        "_links": {
            "self": [{"href": f"{base}{PREFIX}/products/{product.id}"}],
            "collection": [{"href": f"{base}{PREFIX}/products"}],
        },
    }


def resource_json(resource: WooOrder | WooProduct, base: str) -> dict[str, Any]:
    """A webhook's payload: the resource as the REST API shows it."""
    if isinstance(resource, WooOrder):
        return order_json(resource, base)
    return product_json(resource, base)


def int_param(request: Request, name: str, default: int, low: int, high: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = (
            f"between {low} (inclusive) and {high} (inclusive)"
            if high
            else f"greater than or equal to {low}"
        )
        raise WooError(
            400,
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            params={name: f"{name} must be {bound}"},
        )
    return value


def date_param(request: Request, name: str) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return timefmt.parse(raw)
    except ValueError as exc:
        raise WooError(
            400,
            "rest_invalid_param",
            f"Invalid parameter(s): {name}",
            params={name: "Invalid date."},
        ) from exc


def page(request: Request, items: list[Any], render: Callable[[Any], dict[str, Any]]) -> Response:
    page = int_param(request, "page", 1, 1, None)
    per_page = int_param(request, "per_page", 10, 1, PER_PAGE_LIMIT)
    total = len(items)
    pages = math.ceil(total / per_page) if total else 0
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    links = []
    base = str(request.url.remove_query_params("page"))
    joiner = "&" if "?" in base else "?"
    if page > 1:
        links.append(f'<{base}{joiner}page={page - 1}>; rel="prev"')
    if page < pages:
        links.append(f'<{base}{joiner}page={page + 1}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return JSONResponse([render(item) for item in chunk], headers=headers)


def sort_items(
    request: Request,
    items: list[Any],
    *,
    title: Callable[[Any], Any],
    slug: Callable[[Any], Any],
) -> list[Any]:
    """``items`` (orders or products) in the ``orderby`` and ``order`` asked, by WooCommerce's
    list keys; ``title`` and ``slug`` are what those mean for the items."""
    keys: dict[str, Callable[[Any], Any]] = {
        "date": lambda i: i.date_created,
        "id": lambda i: i.id,
        "include": lambda i: i.id,
        "title": title,
        "slug": slug,
        "modified": lambda i: i.date_modified,
    }
    orderby = request.query_params.get("orderby", "date")
    direction = request.query_params.get("order", "desc")
    if orderby not in keys:
        raise WooError(
            400,
            "rest_invalid_param",
            "Invalid parameter(s): orderby",
            params={"orderby": f"orderby is not one of {', '.join(keys)}."},
        )
    if direction not in {"asc", "desc"}:
        raise WooError(
            400,
            "rest_invalid_param",
            "Invalid parameter(s): order",
            params={"order": "order is not one of asc, desc."},
        )
    key = keys[orderby]
    return sorted(items, key=lambda i: (key(i), i.id), reverse=direction == "desc")


def item_error(item_id: int, code: str, message: str, status: int) -> dict[str, Any]:
    return {"id": item_id, "error": {"code": code, "message": message, "data": {"status": status}}}
