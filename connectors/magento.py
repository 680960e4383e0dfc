"""Magento 2 REST (``/rest/<store_code>/V1/``): orders and MSI source items. Polling only:
Magento Open Source has no webhooks.

Orders come from ``GET /V1/orders`` with a ``searchCriteria`` filter ``updated_at gt``, sorted
by ``updated_at``, paged by ``pageSize``/``currentPage``, in the ``items``/``total_count``
envelope. Magento answers the last page again when ``currentPage`` runs past the end, so the
page count comes from ``total_count``, never from an empty page. The order number is
``increment_id``; ``entity_id`` is kept in ``data``.

Stock comes from MSI ``GET /V1/inventory/source-items`` (``sku``, ``source_code``,
``quantity``, ``status``), summed per SKU over all sources or only ``source_code`` when the
credentials name one. Auth is a bearer integration access token. Errors look like
``{"message": "... %name ...", "parameters": {"name": ...}}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from connectors.base import ProtocolError
from connectors.polling import (
    MAX_PAGES_PER_ROUND,
    Keyset,
    PollingConnector,
    Stream,
    StreamState,
    add_sku,
    parse_time,
    sql_time,
)

PAGE_SIZE = 100
STOCK_PAGE_SIZE = 500


def search_criteria(
    *,
    page_size: int,
    current_page: int,
    filters: Sequence[tuple[str, str, str]] = (),
    sort: tuple[str, str] | None = None,
) -> dict[str, str]:
    """Magento's bracketed query parameters; each filter in its own group (AND)."""
    params: dict[str, str] = {
        "searchCriteria[pageSize]": str(page_size),
        "searchCriteria[currentPage]": str(current_page),
    }
    for index, (field, condition, value) in enumerate(filters):
        prefix = f"searchCriteria[filter_groups][{index}][filters][0]"
        params[f"{prefix}[field]"] = field
        params[f"{prefix}[value]"] = value
        params[f"{prefix}[condition_type]"] = condition
    if sort:
        params["searchCriteria[sortOrders][0][field]"] = sort[0]
        params["searchCriteria[sortOrders][0][direction]"] = sort[1]
    return params


def order_items(order: dict[str, Any]) -> list[dict[str, Any]]:
    """Visible lines: a configurable (or bundle) product's child items repeat their parent, so
    only items without ``parent_item_id`` count; the parent carries the chosen child's SKU."""
    items = order.get("items")
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, dict) and not item.get("parent_item_id")]


class MagentoConnector(PollingConnector):
    kind: ClassVar[str] = "magento"

    page_size: int = PAGE_SIZE
    stock_page_size: int = STOCK_PAGE_SIZE

    @property
    def prefix(self) -> str:
        return f"/rest/{self.credentials.get('store_code') or 'default'}/V1"

    async def _search(
        self, path: str, flow: str, params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], int]:
        reply = await self.api.request(
            "GET",
            f"{self.prefix}/{path}",
            flow=flow,
            params=params,
            headers={"Authorization": f"Bearer {self.credentials.get('access_token', '')}"},
        )
        body = reply.body
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise ProtocolError(f"GET {self.prefix}/{path}: no items list in the answer")
        try:
            total = int(body.get("total_count") or 0)
        except (TypeError, ValueError):
            total = len(body["items"])
        return [i for i in body["items"] if isinstance(i, dict)], total

    def streams(self) -> dict[str, Stream]:
        return {"orders": self._orders, "stock": self._stock}

    async def _orders(self, state: StreamState) -> None:
        keyset = Keyset.from_cursor(state.cursor, self.first_since())
        page = 1
        for _ in range(MAX_PAGES_PER_ROUND):
            before = keyset.since
            params = search_criteria(
                page_size=self.page_size,
                current_page=page,
                # gt one second earlier: "at or after" since, at Magento's one-second resolution
                filters=[("updated_at", "gt", sql_time(before - timedelta(seconds=1)))],
                sort=("updated_at", "ASC"),
            )
            orders, total = await self._search("orders", self.order_flow, params)
            fresh = keyset.take_records(
                orders,
                "entity_id",
                lambda order: parse_time(order.get("updated_at")),
                lambda order: f"orders: order {order.get('entity_id')} has no updated_at",
                state.notes,
            )
            for _, order in fresh:
                self._emit_order(state, order)
            state.cursor = keyset.to_cursor()
            if total <= page * self.page_size or not orders:
                return
            page = page + 1 if keyset.since == before else 1
        state.notes.append("orders: more pages remain; the next round continues")

    def _emit_order(self, state: StreamState, order: dict[str, Any]) -> None:
        try:
            updated = parse_time(order.get("updated_at"))
            if updated is None or not order.get("increment_id"):
                raise ValueError("no increment_id or updated_at")
            items = order_items(order)
            skus: dict[str, float] = {}
            for item in items:
                add_sku(skus, item.get("sku"), item.get("qty_ordered"))
            state.events.append(
                self.order_event(
                    number=str(order["increment_id"]),
                    modified=updated,
                    state=order.get("status") or order.get("state"),
                    # grand_total: the gross total, shipping and fees included
                    total=order.get("grand_total"),
                    currency=order.get("order_currency_code"),
                    lines=len(items),
                    skus=skus,
                    upstream_ref=order.get("ext_order_id"),
                    extra={"entity_id": order.get("entity_id")},
                )
            )
        except ValueError as exc:
            state.notes.append(f"orders: order {order.get('entity_id')} skipped: {exc}")

    async def _stock(self, state: StreamState) -> None:
        at = self.clock()
        only = self.credentials.get("source_code")
        sums: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            filters = [("source_code", "eq", only)] if only else []
            params = search_criteria(
                page_size=self.stock_page_size, current_page=page, filters=filters
            )
            items, total = await self._search("inventory/source-items", self.stock_flow, params)
            for item in items:
                sku = item.get("sku")
                if not sku or (only and item.get("source_code") != only):
                    continue
                entry = sums.setdefault(str(sku), {"quantity": 0.0, "in_stock": False, "by": {}})
                quantity = float(item.get("quantity") or 0)
                entry["quantity"] += quantity
                entry["in_stock"] = entry["in_stock"] or int(item.get("status") or 0) == 1
                entry["by"][str(item.get("source_code"))] = quantity
            if total <= page * self.stock_page_size or not items:
                break
            page += 1
        levels = {
            sku: (
                int(e["quantity"]) if float(e["quantity"]).is_integer() else e["quantity"],
                "in_stock" if e["in_stock"] else "out_of_stock",
                {"sources": e["by"]},
            )
            for sku, e in sums.items()
        }
        self.stock_changes(state, levels, at)

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        def probe(path: str, flow: str) -> Callable[[], Awaitable[str]]:
            async def run() -> str:
                params = search_criteria(page_size=1, current_page=1)
                _, total = await self._search(path, flow, params)
                return f"GET {self.prefix}/{path} answered; total_count {total}"

            return run

        return [
            ("orders", probe("orders", self.order_flow)),
            ("source-items (MSI)", probe("inventory/source-items", self.stock_flow)),
        ]
