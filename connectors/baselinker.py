"""BaseLinker API: ``POST /connector.php`` with ``X-BLToken`` and form fields ``method`` and
``parameters`` (JSON).

Errors come with HTTP 200 as ``{"status": "ERROR", "error_code", "error_message"}``; they are
translated like any other error (a bad token is an :class:`AuthError`). The account may make
100 requests a minute: a client-side token bucket (shared by every connector using the same
token in this process) keeps us under it.

- ``getOrders``: confirmed orders, at most 100 a call, paged by ``date_confirmed_from``.
  Refs: this system's namespace gets ``order_id``; the upstream shop's number comes from
  ``external_order_id`` (else ``shop_order_id``).
- ``getJournalList``: order events of the last 3 days after ``last_log_id`` (1 created,
  18 status change, ...). It is off until Base support enables it for the account, and then
  answers nothing or an error: the round says so in its notes instead of failing.
- ``getInventoryProductsStock``: stock per warehouse (``bl_N``) of the catalogue
  ``inventory_id``, 1000 products a page; SKUs come from ``getInventoryProductsList``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.base import AuthError, ConnectorError, PollResult, ProtocolError, RateLimited
from connectors.http import NO_JSON, TokenBucket
from connectors.polling import (
    MAX_PAGES_PER_ROUND,
    Keyset,
    PollingConnector,
    Stream,
    StreamState,
    event_id,
    iso,
    parse_time,
)

ENDPOINT = "/connector.php"
ORDERS_PER_CALL = 100
STOCK_PER_PAGE = 1000
LIMIT_PER_MINUTE = 100
JOURNAL_DAYS = 3
JOURNAL_PAGE = 100

JOURNAL_TYPES = {
    1: "order created",
    2: "order confirmed",
    3: "order paid",
    4: "order/invoice/receipt removed",
    5: "orders merged",
    6: "order split",
    7: "invoice issued",
    8: "receipt issued",
    9: "package created",
    10: "package deleted",
    11: "delivery data edited",
    12: "product added",
    13: "product edited",
    14: "product removed",
    15: "buyer blacklisted",
    16: "order data edited",
    17: "order copied",
    18: "status changed",
    19: "invoice deleted",
    20: "receipt deleted",
    21: "invoice data edited",
}

JOURNAL_DISABLED = (
    "BaseLinker journal (getJournalList) is not enabled for this account{why}: status changes "
    "after confirmation are not seen; ask Base support to activate it"
)

AUTH_CODES = {"ERROR_BAD_TOKEN", "ERROR_USER_ACCOUNT_BLOCKED", "ERROR_EMPTY_TOKEN"}
LIMIT_CODES = {"ERROR_TOO_MANY_REQUESTS", "ERROR_LIMIT_EXCEEDED"}

_BUCKETS: dict[str, TokenBucket] = {}


def shared_bucket(base_url: str, token: str) -> TokenBucket:
    """One bucket per account in this process: the limit is the account's, not the object's."""
    key = hashlib.sha256(f"{base_url}|{token}".encode()).hexdigest()
    if key not in _BUCKETS:
        _BUCKETS[key] = new_bucket()
    return _BUCKETS[key]


def new_bucket() -> TokenBucket:
    burst = 10
    return TokenBucket(
        capacity=burst,
        rate=(LIMIT_PER_MINUTE - burst) / 60,
        limit=LIMIT_PER_MINUTE,
        window_seconds=60,
    )


def classify(method: str) -> Callable[[httpx.Response, Any], ConnectorError | None]:
    def check(response: httpx.Response, body: Any) -> ConnectorError | None:
        if not isinstance(body, dict):
            return ProtocolError(f"{method}: expected a JSON object", status=response.status_code)
        if body.get("status") == "SUCCESS":
            return None
        code = str(body.get("error_code") or "")
        message = str(body.get("error_message") or "no error_message")
        text = f"{method}: {body.get('status') or 'no status'} {code}: {message}"
        status = response.status_code
        upper = message.upper()
        if code in AUTH_CODES or "TOKEN" in code:
            return AuthError(text, status=status, code=code)
        if code in LIMIT_CODES or ("LIMIT" in upper and "REQUEST" in upper):
            return RateLimited(text, retry_after=60.0, status=status, code=code)
        return ProtocolError(text, status=status, code=code or None)

    return check


def order_total(order: dict[str, Any]) -> float:
    total = float(order.get("delivery_price") or 0)
    for product in order.get("products") or []:
        total += float(product.get("price_brutto") or 0) * float(product.get("quantity") or 0)
    return total


class BaseLinkerConnector(PollingConnector):
    kind: ClassVar[str] = "baselinker"

    orders_per_call: int = ORDERS_PER_CALL
    stock_per_page: int = STOCK_PER_PAGE

    def __init__(self, *, limiter: TokenBucket | None = None, **kwargs: Any):
        credentials = kwargs["credentials"]
        super().__init__(
            limiter=limiter or shared_bucket(kwargs["base_url"], credentials.get("token", "")),
            **kwargs,
        )
        self._skus: dict[str, str] = {}

    async def call(self, method: str, parameters: dict[str, Any], flow: str) -> dict[str, Any]:
        reply = await self.api.request(
            "POST",
            ENDPOINT,
            flow=flow,
            label=f"POST {ENDPOINT} {method}",
            classify=classify(method),
            headers={"X-BLToken": self.credentials.get("token", "")},
            data={"method": method, "parameters": json.dumps(parameters)},
        )
        body: dict[str, Any] = reply.body
        return body

    def streams(self) -> dict[str, Stream]:
        streams: dict[str, Stream] = {"orders": self._orders, "journal": self._journal}
        if self.credentials.get("inventory_id"):
            streams["stock"] = self._stock
        return streams

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        result = await super().poll(cursor)
        if not self.credentials.get("inventory_id"):
            result.notes.append("stock: no inventory_id configured, stock is not polled")
        return result

    # -- orders ---------------------------------------------------------------------------------

    async def _orders(self, state: StreamState) -> None:
        keyset = Keyset.from_cursor(state.cursor, self.first_since())
        for _ in range(MAX_PAGES_PER_ROUND):
            before = keyset.since
            body = await self.call(
                "getOrders",
                {"date_confirmed_from": int(before.timestamp()), "get_unconfirmed_orders": False},
                self.order_flow,
            )
            orders = body.get("orders")
            if not isinstance(orders, list):
                raise ProtocolError("getOrders: no orders list in the answer")
            fresh = keyset.take_records(
                orders,
                "order_id",
                _confirmed,
                lambda _: "orders: skipped a record without a confirmation date",
                state.notes,
            )
            for _, order in fresh:
                self._emit_order(state, order)
            if keyset.since == before and len(orders) >= self.orders_per_call:
                # A full page within one second cannot be paged further: step past it.
                state.notes.append(f"orders: {len(orders)}+ orders confirmed at {iso(before)}")
                keyset = Keyset(since=before + timedelta(seconds=1), edge=set())
            state.cursor = keyset.to_cursor()
            if len(orders) < self.orders_per_call:
                return
        state.notes.append("orders: more pages remain; the next round continues")

    def _emit_order(self, state: StreamState, order: dict[str, Any]) -> None:
        moment = (
            parse_time(order.get("date_in_status"))
            or parse_time(order.get("date_confirmed"))
            or parse_time(order.get("date_add"))
        )
        try:
            if moment is None:
                raise ValueError("no date")
            products = order.get("products") or []
            shop_ref = order.get("external_order_id") or order.get("shop_order_id")
            state.events.append(
                self.order_event(
                    number=str(order["order_id"]),
                    modified=moment,
                    state=str(order.get("order_status_id", "")) or None,
                    total=order_total(order),
                    currency=order.get("currency"),
                    lines=len(products),
                    upstream_ref=shop_ref,
                    extra={
                        "order_id": order.get("order_id"),
                        "order_source": order.get("order_source"),
                        "skus": [p.get("sku") for p in products if p.get("sku")],
                    },
                    id_parts=(order.get("order_status_id"), iso(moment)),
                )
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            state.notes.append(f"orders: order {order.get('order_id')} skipped: {exc}")

    # -- journal --------------------------------------------------------------------------------

    async def _journal(self, state: StreamState) -> None:
        last = state.cursor.get("last_log_id")
        oldest = max(self.first_since(), self.clock() - timedelta(days=JOURNAL_DAYS))
        for _ in range(MAX_PAGES_PER_ROUND):
            try:
                body = await self.call(
                    "getJournalList", {"last_log_id": last or 0}, self.order_flow
                )
            except ProtocolError as exc:
                if exc.code == "malformed_json":
                    raise
                # Until Base enables it, the journal answers nothing or an error.
                state.notes.append(JOURNAL_DISABLED.format(why=f" (it answered {exc.message})"))
                return
            logs = body.get("logs")
            if not isinstance(logs, list):
                state.notes.append(JOURNAL_DISABLED.format(why=" (it answered no logs list)"))
                return
            fresh = [
                log
                for log in logs
                if isinstance(log, dict) and int(log.get("id") or 0) > int(last or 0)
            ]
            if not fresh:
                if last is None:
                    state.notes.append(
                        "journal: no entries yet; if orders change and this stays empty, "
                        + JOURNAL_DISABLED.format(why="")
                    )
                return
            for log in sorted(fresh, key=lambda entry: int(entry["id"])):
                self._emit_log(state, log, oldest)
                last = int(log["id"])
            state.cursor = {"last_log_id": last}
            if len(logs) < JOURNAL_PAGE:
                return
        state.notes.append("journal: more entries remain; the next round continues")

    def _emit_log(self, state: StreamState, log: dict[str, Any], oldest: datetime) -> None:
        moment = parse_time(log.get("date"))
        if moment is None or moment < oldest or not log.get("order_id"):
            return
        log_type = int(log.get("log_type") or 0)
        status_id = log.get("object_id") if log_type == 18 else None
        data: dict[str, Any] = {
            "journal": JOURNAL_TYPES.get(log_type, f"type {log_type}"),
            "log_type": log_type,
            "log_id": log.get("id"),
        }
        if log.get("object_id"):
            data["object_id"] = log.get("object_id")
        try:
            state.events.append(
                self._event(
                    id=event_id(self.system_id, "journal", log.get("id")),
                    time=moment,
                    flow=self.order_flow,
                    kind="seen",
                    system=self.system_id,
                    refs={self.system_id: str(log["order_id"])},
                    state=str(status_id) if status_id else None,
                    data=data,
                )
            )
        except ValueError as exc:
            state.notes.append(f"journal: entry {log.get('id')} skipped: {exc}")

    # -- stock ----------------------------------------------------------------------------------

    async def _stock(self, state: StreamState) -> None:
        at = self.clock()
        inventory_id = int(self.credentials["inventory_id"])
        warehouse = self.credentials.get("warehouse_id")
        stocks: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            body = await self.call(
                "getInventoryProductsStock",
                {"inventory_id": inventory_id, "page": page},
                self.stock_flow,
            )
            products = body.get("products")
            if isinstance(products, list) and not products:
                products = {}  # PHP's empty array
            if not isinstance(products, dict):
                raise ProtocolError("getInventoryProductsStock: no products object in the answer")
            for product_id, product in products.items():
                if isinstance(product, dict) and isinstance(product.get("stock"), dict):
                    stocks[str(product.get("product_id") or product_id)] = product["stock"]
            if len(products) < self.stock_per_page:
                break
            page += 1
        if set(stocks) - set(self._skus):
            await self._load_skus(inventory_id)
        levels: dict[str, tuple[float | None, str | None, dict[str, Any]]] = {}
        for product_id, stock in stocks.items():
            sku = self._skus.get(product_id)
            if not sku:
                continue
            per_warehouse = {str(k): v for k, v in stock.items()}
            if warehouse:
                quantity: float | None = _number(per_warehouse.get(warehouse))
            else:
                quantity = sum(_number(v) or 0 for v in per_warehouse.values())
            levels[sku] = (quantity, None, {"product_id": product_id, "stock": per_warehouse})
        self.stock_changes(state, levels, at)

    async def _load_skus(self, inventory_id: int) -> None:
        page = 1
        while True:
            body = await self.call(
                "getInventoryProductsList",
                {"inventory_id": inventory_id, "page": page},
                self.stock_flow,
            )
            products = body.get("products") or {}
            if not isinstance(products, dict):
                raise ProtocolError("getInventoryProductsList: no products object in the answer")
            for product_id, product in products.items():
                if isinstance(product, dict) and product.get("sku"):
                    self._skus[str(product.get("id") or product_id)] = str(product["sku"])
            if len(products) < self.stock_per_page:
                return
            page += 1

    # -- test -----------------------------------------------------------------------------------

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        async def token() -> str:
            now = int(self.clock().timestamp())
            body = await self.call("getOrders", {"date_confirmed_from": now}, self.order_flow)
            return f"getOrders answered SUCCESS ({len(body.get('orders') or [])} orders now)"

        async def journal() -> str:
            body = await self.call("getJournalList", {"last_log_id": 0}, self.order_flow)
            logs = body.get("logs")
            if not isinstance(logs, list):
                raise ProtocolError(JOURNAL_DISABLED.format(why=" (no logs list)"))
            if not logs:
                return "getJournalList answered, but empty: " + JOURNAL_DISABLED.format(
                    why=" or nothing happened in 3 days"
                )
            return f"getJournalList answered {len(logs)} entries"

        async def inventory() -> str:
            if not self.credentials.get("inventory_id"):
                body = await self.call("getInventories", {}, self.stock_flow)
                found = [
                    f"{i.get('inventory_id')} ({i.get('name')})"
                    for i in body.get("inventories") or []
                    if isinstance(i, dict)
                ]
                raise ProtocolError(
                    "no inventory_id configured; catalogues: " + (", ".join(found) or "none")
                )
            inventory_id = int(self.credentials["inventory_id"])
            await self.call(
                "getInventoryProductsStock",
                {"inventory_id": inventory_id, "page": 1},
                self.stock_flow,
            )
            return f"getInventoryProductsStock answered for inventory {inventory_id}"

        return [("token", token), ("journal", journal), ("inventory", inventory)]


def _number(value: Any) -> float | None:
    if value is None or value is NO_JSON:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else number


def _confirmed(order: Any) -> datetime | None:
    """When an order was confirmed (else added); None for a record that is not an order."""
    if not isinstance(order, dict):
        return None
    return parse_time(order.get("date_confirmed")) or parse_time(order.get("date_add"))
