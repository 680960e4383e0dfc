"""WooCommerce REST API v3 (``/wp-json/wc/v3``): orders and product stock.

Orders are read incrementally with ``modified_after`` (GMT dates), newest modification last,
``per_page`` up to 100, and ``X-WP-TotalPages`` to know whether more remain. Stock is a full
pass over products (``sku``, ``manage_stock``, ``stock_quantity``, ``stock_status``): changing a
product's stock does not reliably move its modification date, so a date filter would miss it.

Auth is HTTP basic with the ``ck_…``/``cs_…`` key pair. Errors come as
``{"code", "message", "data": {"status"}}``. In the order flow the shop's namespace gets the
order ``number`` (what the merchant and the OMS see); the post ``id`` is kept in ``data``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.base import ProtocolError
from connectors.polling import (
    MAX_PAGES_PER_ROUND,
    EventBuilder,
    Keyset,
    PollingConnector,
    Stream,
    StreamState,
    add_sku,
    parse_time,
)
from graph.model import Event

API = "/wp-json/wc/v3"
PER_PAGE = 100


def order_modified(order: dict[str, Any]) -> datetime | None:
    return parse_time(order.get("date_modified_gmt")) or parse_time(order.get("date_modified"))


def order_to_event(
    connector: EventBuilder,
    order: dict[str, Any],
    *,
    default_time: datetime | None = None,
    id_parts: tuple[object, ...] = (),
) -> Event:
    """The ``seen`` event of one order in the REST v3 / webhook v3 shape."""
    modified = order_modified(order) or default_time
    if modified is None:
        raise ValueError("no date_modified_gmt")
    number = order.get("number") or order.get("id")
    if number in (None, ""):
        raise ValueError("no number")
    # Only line_items are product lines: shipping_lines, fee_lines and coupon_lines are not,
    # though ``total`` (the gross total) includes them.
    items = [i for i in order.get("line_items") or [] if isinstance(i, dict)]
    skus: dict[str, float] = {}
    for item in items:
        add_sku(skus, item.get("sku"), item.get("quantity"))
    return connector.order_event(
        number=str(number),
        modified=modified,
        state=order.get("status"),
        total=order.get("total"),
        currency=order.get("currency"),
        lines=len(items),
        skus=skus,
        extra={"id": order.get("id")},
        id_parts=id_parts,
    )


def product_level(product: dict[str, Any]) -> tuple[float | None, str | None, dict[str, Any]]:
    quantity = product.get("stock_quantity") if product.get("manage_stock") else None
    if quantity is not None and not isinstance(quantity, int | float):
        quantity = float(quantity)
    status = product.get("stock_status")
    return quantity, None if status is None else str(status), {"id": product.get("id")}


class WooCommerceConnector(PollingConnector):
    kind: ClassVar[str] = "woocommerce"

    per_page: int = PER_PAGE

    def _auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(
            self.credentials.get("consumer_key", ""), self.credentials.get("consumer_secret", "")
        )

    async def _get(self, path: str, flow: str, params: dict[str, Any]) -> tuple[Any, int]:
        reply = await self.api.request(
            "GET", f"{API}/{path}", flow=flow, params=params, auth=self._auth()
        )
        if not isinstance(reply.body, list):
            raise ProtocolError(f"GET {API}/{path}: expected a JSON list, got {type(reply.body)}")
        try:
            pages = int(reply.response.headers.get("x-wp-totalpages", "1"))
        except ValueError:
            pages = 1
        return reply.body, pages

    def streams(self) -> dict[str, Stream]:
        return {"orders": self._orders, "stock": self._stock}

    async def _orders(self, state: StreamState) -> None:
        keyset = Keyset.from_cursor(state.cursor, self.first_since())
        page = 1
        for _ in range(MAX_PAGES_PER_ROUND):
            before = keyset.since
            # modified_after is strict: one second earlier makes it "at or after" since.
            params = {
                "modified_after": (keyset.since - timedelta(seconds=1)).strftime(
                    "%Y-%m-%dT%H:%M:%S"
                ),
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": self.per_page,
                "page": page,
            }
            orders, total_pages = await self._get("orders", self.order_flow, params)
            fresh = keyset.take_records(
                orders,
                "id",
                lambda order: order_modified(order) if isinstance(order, dict) else None,
                lambda _: "orders: skipped a record without a modification date",
                state.notes,
            )
            for key, order in fresh:
                try:
                    state.events.append(order_to_event(self, order))
                except ValueError as exc:
                    state.notes.append(f"orders: order id {key} skipped: {exc}")
            state.cursor = keyset.to_cursor()
            if page >= total_pages or not orders:
                return
            page = page + 1 if keyset.since == before else 1
        state.notes.append("orders: more pages remain; the next round continues")

    async def _stock(self, state: StreamState) -> None:
        at = self.clock()
        levels: dict[str, tuple[float | None, str | None, dict[str, Any]]] = {}
        page = 1
        while True:
            params = {"per_page": self.per_page, "page": page, "orderby": "id", "order": "asc"}
            products, total_pages = await self._get("products", self.stock_flow, params)
            for product in products:
                if isinstance(product, dict) and product.get("sku"):
                    levels[str(product["sku"])] = product_level(product)
            if page >= total_pages or not products:
                break
            page += 1
        self.stock_changes(state, levels, at)

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        async def count(path: str, flow: str) -> str:
            reply = await self.api.request(
                "GET", f"{API}/{path}", flow=flow, params={"per_page": 1}, auth=self._auth()
            )
            total = reply.response.headers.get("x-wp-total", "?")
            return f"GET {API}/{path} answered {reply.response.status_code}; {total} in all"

        return [
            ("orders", lambda: count("orders", self.order_flow)),
            ("products", lambda: count("products", self.stock_flow)),
        ]
