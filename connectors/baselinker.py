"""BaseLinker API: ``POST /connector.php`` with ``X-BLToken`` and form fields ``method`` and
``parameters`` (JSON).

Errors come with HTTP 200 as ``{"status": "ERROR", "error_code", "error_message"}``; they are
translated like any other error. A bad token is an :class:`AuthError`; ``ERROR_BLOCKED_TOKEN``
is what BaseLinker answers once the limit (100 requests a minute) was exceeded and the token is
blocked for a while, so it is :class:`RateLimited` (backoff), never "bad credentials". A
client-side token bucket (shared by every connector using the same token in this process) keeps
us under the limit.

- ``getOrders``: confirmed orders, at most 100 a call, paged by ``date_confirmed_from``. An
  order *arrives* in BaseLinker, as a confirmed order the integrations act on, at
  ``date_confirmed``: ``date_add`` is the order's own date, for an import the shop's (hours
  earlier for a bank transfer paid late). ``date_in_status`` is when it entered its current
  status, a later event of the same order, emitted as a second ``seen`` when later.
  Refs: this system's namespace gets ``order_id``. Per the getOrders documentation,
  ``external_order_id`` is "an order identifier taken from an external source, e.g. the order
  number in the store, or the eBay transaction number" and ``shop_order_id`` the "order ID
  given by the store"; ``order_source`` is ``shop``, ``personal``, ``order_return`` or a
  marketplace code (``allegro``, ``amazon``, ``ebay``...) and ``order_source_id`` is unique only
  together with it. So the upstream shop's namespace gets ``external_order_id`` (else
  ``shop_order_id``) only for ``order_source == "shop"`` and, when the credentials name the
  connected shop's ``order_source_id``, only for that source. Any other order's id is filed
  under ``<order_source>:<order_source_id>``: a marketplace order never joins the shop's
  journeys.
- ``getJournalList``: order events of the last 3 days after ``last_log_id`` (1 created,
  18 status change, ...). It is off until Base support enables it for the account, and then
  answers nothing or an error: the round says so in its notes instead of failing. Published
  clients disagree on the entry's key (``log_id`` or ``id``): both are read; an entry with
  neither is a connector warning.
- ``getInventoryProductsStock``: stock per warehouse (``bl_N``) of the catalogue
  ``inventory_id``, 1000 products a page, with each variant's stock under ``variants``. SKUs
  come from ``getInventoryProductsList`` (products) and ``getInventoryProductsData``
  (variants); an id without a SKU is remembered as such, so it is not looked up every round.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

from connectors.base import AuthError, ConnectorError, PollResult, ProtocolError, RateLimited
from connectors.http import TokenBucket
from connectors.polling import (
    MAX_PAGES_PER_ROUND,
    Keyset,
    PollingConnector,
    Stream,
    StreamState,
    add_sku,
    event_id,
    iso,
    number,
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
LIMIT_CODES = {
    "ERROR_BLOCKED_TOKEN",
    "ERROR_TOO_MANY_REQUESTS",
    "ERROR_LIMIT_EXCEEDED",
    "ERROR_REQUESTS_LIMIT",
}
BLOCKED_FOR = 150.0
"""Seconds to wait after ``ERROR_BLOCKED_TOKEN``: longer than the retry policy sleeps through
in one round, so the round ends and the poller backs off instead of hammering a blocked token."""

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
        # Throttling first: ERROR_BLOCKED_TOKEN names the token but means "too many requests".
        if code == "ERROR_BLOCKED_TOKEN":
            return RateLimited(text, retry_after=BLOCKED_FOR, status=status, code=code)
        if code in LIMIT_CODES or "LIMIT" in code or ("LIMIT" in upper and "REQUEST" in upper):
            return RateLimited(text, retry_after=60.0, status=status, code=code)
        if code in AUTH_CODES or "TOKEN" in code:
            return AuthError(text, status=status, code=code)
        return ProtocolError(text, status=status, code=code or None)

    return check


def order_total(order: dict[str, Any]) -> Decimal:
    """The gross total: products' gross prices times quantities plus ``delivery_price``
    (getOrders has no total field; shipping is not a product line)."""
    total = _decimal(order.get("delivery_price"))
    for product in order.get("products") or []:
        if isinstance(product, dict):
            total += _decimal(product.get("price_brutto")) * _decimal(product.get("quantity"))
    return total


def _decimal(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)
    return amount if amount.is_finite() else Decimal(0)


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
        self._skus: dict[str, str | None] = {}  # product or variant id -> SKU (or none)

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
        # An order imported from a shop keeps the shop's order date as date_add (hours before
        # the import for a bank transfer paid late); it is in BaseLinker, as a confirmed order
        # the integrations act on, from date_confirmed. date_in_status is a later status.
        added = parse_time(order.get("date_confirmed")) or parse_time(order.get("date_add"))
        in_status = parse_time(order.get("date_in_status"))
        try:
            if added is None:
                raise ValueError("no date_confirmed or date_add")
            products = [p for p in order.get("products") or [] if isinstance(p, dict)]
            skus: dict[str, float] = {}
            for product in products:
                add_sku(skus, product.get("sku"), product.get("quantity"))
            shop_ref, other_refs = self._source_refs(order)
            status = str(order.get("order_status_id", "")) or None
            later = in_status is not None and in_status > added
            common: dict[str, Any] = {
                "number": str(order["order_id"]),
                "total": order_total(order),
                "currency": order.get("currency"),
                "lines": len(products),
                "skus": skus,
                "upstream_ref": shop_ref,
                "refs": other_refs,
                "extra": {
                    "order_id": order.get("order_id"),
                    "order_source": order.get("order_source"),
                    "order_source_id": order.get("order_source_id"),
                    "date_add": order.get("date_add"),
                },
            }
            # The arrival carries the state only when the order is still in its first status:
            # a later status is its own event, at date_in_status.
            state.events.append(
                self.order_event(
                    modified=added,
                    state=None if later else status,
                    id_parts=("added", iso(added)),
                    **common,
                )
            )
            if later and in_status is not None:
                state.events.append(
                    self.order_event(
                        modified=in_status,
                        state=status,
                        id_parts=(order.get("order_status_id"), iso(in_status)),
                        **common,
                    )
                )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            state.notes.append(f"orders: order {order.get('order_id')} skipped: {exc}")

    def _source_refs(self, order: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        """(the connected shop's order number or None, refs in the order source's namespace)."""
        source = str(order.get("order_source") or "")
        source_id = str(order.get("order_source_id") or "")
        own = self.credentials.get("order_source_id")
        reference = order.get("external_order_id") or order.get("shop_order_id")
        if reference in (None, "", 0, "0"):
            return None, {}
        if source == "shop" and (not own or own == source_id):
            return reference, {}
        namespace = f"{source or 'unknown'}:{source_id}" if source_id else source or "unknown"
        return None, {namespace: str(reference)}

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
            fresh: list[tuple[int, dict[str, Any]]] = []
            unreadable = 0
            for log in logs:
                key = _log_id(log)
                if key is None:
                    unreadable += 1
                elif key > int(last or 0):
                    fresh.append((key, log))
            if unreadable:
                state.warnings.append(
                    f"journal: {unreadable} getJournalList entries have neither log_id nor id "
                    "(an answer shape this connector does not know); they were not read"
                )
            if not fresh:
                if last is None:
                    state.notes.append(
                        "journal: no entries yet; if orders change and this stays empty, "
                        + JOURNAL_DISABLED.format(why="")
                    )
                return
            for key, log in sorted(fresh, key=lambda pair: pair[0]):
                self._emit_log(state, log, key, oldest)
                last = key
            state.cursor = {"last_log_id": last}
            if len(logs) < JOURNAL_PAGE:
                return
        state.notes.append("journal: more entries remain; the next round continues")

    def _emit_log(
        self, state: StreamState, log: dict[str, Any], log_id: int, oldest: datetime
    ) -> None:
        moment = parse_time(log.get("date"))
        if moment is None or moment < oldest or not log.get("order_id"):
            return
        log_type = int(log.get("log_type") or 0)
        status_id = log.get("object_id") if log_type == 18 else None
        data: dict[str, Any] = {
            "journal": JOURNAL_TYPES.get(log_type, f"type {log_type}"),
            "log_type": log_type,
            "log_id": log_id,
        }
        if log.get("object_id"):
            data["object_id"] = log.get("object_id")
        try:
            state.events.append(
                self._event(
                    id=event_id(self.system_id, "journal", log_id),
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
            state.notes.append(f"journal: entry {log_id} skipped: {exc}")

    # -- stock ----------------------------------------------------------------------------------

    async def _stock(self, state: StreamState) -> None:
        at = self.clock()
        inventory_id = int(self.credentials["inventory_id"])
        stocks: dict[str, dict[str, Any]] = {}
        variants: dict[str, tuple[str, dict[str, Any]]] = {}  # variant id -> (parent, stock)
        async for products in self._inventory_pages("getInventoryProductsStock", inventory_id):
            for product_id, product in products.items():
                if not isinstance(product, dict):
                    continue
                parent = str(product.get("product_id") or product_id)
                if isinstance(product.get("stock"), dict):
                    stocks[parent] = product["stock"]
                for variant_id, stock in _variant_stocks(product.get("variants")):
                    variants[variant_id] = (parent, stock)
        if set(stocks) - set(self._skus):
            await self._load_skus(inventory_id)
        unknown = {parent for variant, (parent, _) in variants.items() if variant not in self._skus}
        if unknown:
            await self._load_variant_skus(inventory_id, sorted(unknown), set(variants))
        levels: dict[str, tuple[float | None, str | None, dict[str, Any]]] = {}
        for product_id, stock in stocks.items():
            if sku := self._skus.get(product_id):
                levels[sku] = self._level(stock, {"product_id": product_id})
        for variant_id, (parent, stock) in variants.items():
            if sku := self._skus.get(variant_id):
                levels[sku] = self._level(stock, {"product_id": parent, "variant_id": variant_id})
        self.stock_changes(state, levels, at)

    def _level(
        self, stock: dict[str, Any], extra: dict[str, Any]
    ) -> tuple[float | None, str | None, dict[str, Any]]:
        per_warehouse = {str(k): v for k, v in stock.items()}
        warehouse = self.credentials.get("warehouse_id")
        if warehouse:
            quantity: float | None = number(per_warehouse.get(warehouse))
        else:
            quantity = sum(number(v) or 0 for v in per_warehouse.values())
        return quantity, None, {**extra, "stock": per_warehouse}

    async def _inventory_pages(
        self, method: str, inventory_id: int
    ) -> AsyncIterator[dict[str, Any]]:
        """The ``products`` of each page of an inventory list, up to the first page that is not
        full."""
        page = 1
        while True:
            body = await self.call(
                method, {"inventory_id": inventory_id, "page": page}, self.stock_flow
            )
            products = _products(method, body)
            yield products
            if len(products) < self.stock_per_page:
                return
            page += 1

    async def _load_skus(self, inventory_id: int) -> None:
        async for products in self._inventory_pages("getInventoryProductsList", inventory_id):
            for product_id, product in products.items():
                if isinstance(product, dict):
                    # A parent of variants usually has no SKU of its own: remember that too,
                    # or every round would list the catalogue again (100 calls a minute).
                    self._skus[str(product.get("id") or product_id)] = (
                        str(product["sku"]) if product.get("sku") else None
                    )

    async def _load_variant_skus(
        self, inventory_id: int, parents: list[str], variant_ids: set[str]
    ) -> None:
        """Variant SKUs from getInventoryProductsData (at most 1000 products a call)."""
        for start in range(0, len(parents), self.stock_per_page):
            chunk = parents[start : start + self.stock_per_page]
            body = await self.call(
                "getInventoryProductsData",
                {"inventory_id": inventory_id, "products": [int(p) for p in chunk]},
                self.stock_flow,
            )
            for product in _products("getInventoryProductsData", body).values():
                found = product.get("variants") if isinstance(product, dict) else None
                if isinstance(found, dict):
                    for variant_id, variant in found.items():
                        if isinstance(variant, dict):
                            sku = variant.get("sku")
                            self._skus[str(variant_id)] = str(sku) if sku else None
        for variant_id in variant_ids - set(self._skus):
            self._skus[variant_id] = None

    # -- test -----------------------------------------------------------------------------------

    def hint(self, exc: ConnectorError) -> str | None:
        code = exc.code or ""
        if "INVENTORY" in code or "WAREHOUSE" in code:
            return f"wrong inventory_id or warehouse_id ({code})"
        if isinstance(exc, AuthError):
            return f"credentials refused: BaseLinker does not accept this API token ({code})"
        return None

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


def _products(method: str, body: dict[str, Any]) -> dict[str, Any]:
    """An inventory answer's ``products`` object (PHP sends an empty one as ``[]``)."""
    products = body.get("products")
    if isinstance(products, list) and not products:
        return {}
    if not isinstance(products, dict):
        raise ProtocolError(f"{method}: no products object in the answer")
    return products


def _variant_stocks(variants: Any) -> list[tuple[str, dict[str, Any]]]:
    """(variant id, stock per warehouse) from a product's ``variants``: an object keyed by
    variant id (the documented shape), or a list of ``{variant_id, stock}``; [] otherwise."""
    if isinstance(variants, dict):
        return [(str(k), v) for k, v in variants.items() if isinstance(v, dict)]
    if isinstance(variants, list):
        return [
            (str(v["variant_id"]), v["stock"])
            for v in variants
            if isinstance(v, dict) and v.get("variant_id") and isinstance(v.get("stock"), dict)
        ]
    return []


def _log_id(log: Any) -> int | None:
    """A journal entry's id: ``log_id`` (the API documentation) or ``id`` (some clients)."""
    if not isinstance(log, dict):
        return None
    for name in ("log_id", "id"):
        try:
            return int(log[name])
        except (KeyError, TypeError, ValueError):
            continue
    return None


def _confirmed(order: Any) -> datetime | None:
    """When an order was confirmed (else added); None for a record that is not an order."""
    if not isinstance(order, dict):
        return None
    return parse_time(order.get("date_confirmed")) or parse_time(order.get("date_add"))
