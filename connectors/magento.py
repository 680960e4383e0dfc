"""Magento 2 REST (``/rest/<store_code>/V1/``): orders and salable stock. Polling only:
Magento Open Source has no webhooks.

Orders come from ``GET /V1/orders`` with a ``searchCriteria`` filter ``updated_at gt``, sorted
by ``updated_at``, paged by ``pageSize``/``currentPage``, in the ``items``/``total_count``
envelope. Magento answers the last page again when ``currentPage`` runs past the end, so the
page count comes from ``total_count``, never from an empty page. The order number is
``increment_id``; ``entity_id`` is kept in ``data``.

Stock is what the shop sells, not what the sources hold. With MSI (default): the SKUs come from
``GET /V1/inventory/source-items`` (only ``source_code`` when the credentials name one), and
each SKU's level is its salable quantity in the website's stock,
``GET /V1/inventory/get-product-salable-quantity/{sku}/{stockId}`` (source items of the stock's
sources minus reservations). ``stock_id`` comes from the credentials, else from the store's
website (``store/storeViews`` → ``store/websites`` → ``inventory/stock-resolver/website``).
Without MSI (``msi: no``, or source-items answering 404): the SKUs of simple and virtual
products from ``GET /V1/products`` and each one's ``GET /V1/stockItems/{sku}``. One call per
SKU and round.

Auth: since 2.4.4 an integration's access token is refused as a bearer token unless the
merchant enables ``oauth/consumer/enable_integration_as_bearer``; with ``consumer_key``,
``consumer_secret`` and ``access_token_secret`` besides ``access_token`` the connector signs
OAuth 1.0a instead (:mod:`connectors.oauth`). Errors look like
``{"message": "... %name ...", "parameters": {"name": ...}}``.

The shop's own health, every five minutes after a round: what core Magento's REST API exposes
of it, the enabled modules (``GET /V1/modules``) and the store view's configuration
(``GET /V1/store/storeConfigs``). Magento's cron and indexers are not exposed by its core REST
API (``bin/magento cron:run``, ``indexer:status`` and the admin's Index Management only; see
tests/fixtures/README.md): a stalled cron or indexer shows in the flows instead (orders late
to reach the OMS, stock not propagated).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from connectors.base import MAGENTO_OAUTH, AuthError, ConnectorError, ProtocolError, RateLimited
from connectors.oauth import OAuth1
from connectors.polling import (
    Dating,
    PollingConnector,
    Stream,
    StreamState,
    add_sku,
    number,
    parse_time,
    read_pages,
    sql_time,
)

PAGE_SIZE = 100
STOCK_PAGE_SIZE = 500
ORDER_DATING = Dating(
    "entity_id",
    lambda order: parse_time(order.get("updated_at")),
    lambda order: f"orders: order {order.get('entity_id')} has no updated_at",
)


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


EXTENSIONS_SHOWN = 100
STORE_FIELDS = (
    "code", "base_url", "secure_base_url", "timezone", "locale", "base_currency_code",
)  # fmt: skip


def module_summary(body: Any) -> dict[str, Any]:
    """What ``GET /V1/modules`` (the enabled modules' names) tells: how many, whether MSI is
    on, and the extensions (modules not by Magento), which an integration's fault may lie in.

    >>> module_summary(["Magento_Store", "Magento_InventorySalesApi", "Acme_ErpSync"])
    {'modules': 3, 'msi': True, 'extensions': ['Acme_ErpSync']}
    """
    if not isinstance(body, list):
        raise ValueError("not a list of module names")
    names = [name for name in body if isinstance(name, str)]
    return {
        "modules": len(names),
        "msi": "Magento_InventorySalesApi" in names,
        "extensions": sorted(n for n in names if not n.startswith("Magento_"))[:EXTENSIONS_SHOWN],
    }


def store_summary(body: Any, code: str) -> dict[str, Any] | None:
    """The configuration of store view ``code`` from ``GET /V1/store/storeConfigs``.

    >>> store_summary([{"code": "pl", "timezone": "Europe/Warsaw", "id": 2}], "pl")
    {'code': 'pl', 'timezone': 'Europe/Warsaw'}
    """
    if not isinstance(body, list):
        raise ValueError("not a list of store configurations")
    for config in body:
        if isinstance(config, dict) and config.get("code") == code:
            return {key: config[key] for key in STORE_FIELDS if key in config}
    return None


class MagentoConnector(PollingConnector):
    kind: ClassVar[str] = "magento"

    page_size: int = PAGE_SIZE
    stock_page_size: int = STOCK_PAGE_SIZE

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._stock_id: int | None = None
        self._msi = self.credentials.get("msi", "yes") != "no"

    @property
    def prefix(self) -> str:
        return f"/rest/{self.credentials.get('store_code') or 'default'}/V1"

    def _auth(self) -> dict[str, Any]:
        token = self.credentials.get("access_token", "")
        if all(self.credentials.get(name) for name in MAGENTO_OAUTH):
            return {
                "auth": OAuth1(
                    self.credentials["consumer_key"],
                    self.credentials["consumer_secret"],
                    token=token,
                    token_secret=self.credentials["access_token_secret"],
                )
            }
        return {"headers": {"Authorization": f"Bearer {token}"}}

    async def _read(self, path: str, flow: str, params: dict[str, str] | None = None) -> Any:
        reply = await self.api.request(
            "GET", f"{self.prefix}/{path}", flow=flow, params=params, **self._auth()
        )
        return reply.body

    async def _search(
        self, path: str, flow: str, params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], int]:
        body = await self._read(path, flow, params)
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
        async def read_page(since: datetime, page: int) -> tuple[list[Any], bool]:
            params = search_criteria(
                page_size=self.page_size,
                current_page=page + 1,
                # gt one second earlier: "at or after" since, at Magento's one-second resolution
                filters=[("updated_at", "gt", sql_time(since - timedelta(seconds=1)))],
                sort=("updated_at", "ASC"),
            )
            orders, total = await self._search("orders", self.order_flow, params)
            return orders, bool(orders) and total > (page + 1) * self.page_size

        async def emit(fresh: list[tuple[str, Any]]) -> None:
            for _, order in fresh:
                self._emit_order(state, order)

        await read_pages(state, self.first_since(), read_page, ORDER_DATING, emit)

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
        levels: dict[str, tuple[float | None, str | None, dict[str, Any]]] = {}
        if self._msi:
            try:
                skus = await self._source_skus()
            except ProtocolError as exc:
                if exc.status != 404:
                    raise
                state.notes.append("stock: no MSI source-items here (404): read stockItems")
                self._msi = False
        if self._msi:
            stock_id = await self.stock_id()
            for sku in skus:
                path = f"inventory/get-product-salable-quantity/{quote(sku, safe='')}/{stock_id}"
                quantity = number(await self._read(path, self.stock_flow))
                state_name = None if quantity is None else _in_stock(quantity > 0)
                levels[sku] = (quantity, state_name, {"stock_id": stock_id})
        else:
            for sku in await self._product_skus():
                item = await self._read(f"stockItems/{quote(sku, safe='')}", self.stock_flow)
                if isinstance(item, dict):
                    quantity = number(item.get("qty"))
                    levels[sku] = (quantity, _in_stock(bool(item.get("is_in_stock"))), {})
        self.stock_changes(state, levels, at)

    async def _source_skus(self) -> list[str]:
        only = self.credentials.get("source_code")
        filters = [("source_code", "eq", only)] if only else []
        skus: set[str] = set()
        page = 1
        while True:
            params = search_criteria(
                page_size=self.stock_page_size, current_page=page, filters=filters
            )
            items, total = await self._search("inventory/source-items", self.stock_flow, params)
            skus.update(str(i["sku"]) for i in items if i.get("sku"))
            if total <= page * self.stock_page_size or not items:
                return sorted(skus)
            page += 1

    async def _product_skus(self) -> list[str]:
        skus: list[str] = []
        page = 1
        while True:
            params = search_criteria(
                page_size=self.stock_page_size,
                current_page=page,
                filters=[("type_id", "in", "simple,virtual")],
            )
            items, total = await self._search("products", self.stock_flow, params)
            skus.extend(str(i["sku"]) for i in items if i.get("sku"))
            if total <= page * self.stock_page_size or not items:
                return skus
            page += 1

    async def stock_id(self) -> int:
        """The website's stock: configured, else resolved from the store code's website."""
        if self._stock_id is None:
            configured = self.credentials.get("stock_id")
            self._stock_id = int(configured) if configured else await self._resolve_stock_id()
        return self._stock_id

    async def _resolve_stock_id(self) -> int:
        code = self.credentials.get("store_code") or "default"
        views = await self._read("store/storeViews", self.stock_flow)
        view = next((v for v in views or [] if isinstance(v, dict) and v.get("code") == code), None)
        if view is None:
            raise ProtocolError(f"store code {code!r} is not a store view of this Magento")
        websites = await self._read("store/websites", self.stock_flow)
        website = next(
            (
                w
                for w in websites or []
                if isinstance(w, dict) and w.get("id") == view.get("website_id")
            ),
            None,
        )
        if website is None:
            raise ProtocolError(f"store view {code!r} has no website")
        resolved = await self._read(
            f"inventory/stock-resolver/website/{quote(str(website.get('code')), safe='')}",
            self.stock_flow,
        )
        stock_id = resolved.get("stock_id") if isinstance(resolved, dict) else None
        if not isinstance(stock_id, int):
            raise ProtocolError(f"no stock is assigned to website {website.get('code')!r}")
        return stock_id

    async def health(self, state: StreamState) -> None:
        """The enabled modules and the store view's configuration (module docstring); cron and
        indexers are stated as not exposed (None), never guessed."""
        platform: dict[str, Any] = {"cron": None, "indexers": None}
        reads: list[tuple[str, str, Callable[[Any], dict[str, Any] | None]]] = [
            ("modules", "enabled modules", module_summary),
            ("store/storeConfigs", "store configuration", self._store),
        ]
        for path, what, summary in reads:
            try:
                found = summary(await self._read(path, self.order_flow))
            except RateLimited:
                raise
            except ConnectorError as exc:  # Magento_Backend::admin may not be granted
                state.notes.append(f"health: {what} not readable: {self.explain(exc)}")
            except ValueError as exc:  # an answer the connector cannot read: a warning
                state.warnings.append(f"health: {what}: unexpected answer ({exc})")
            else:
                platform.update(found or {})
        state.health["platform"] = platform

    def _store(self, body: Any) -> dict[str, Any]:
        code = self.credentials.get("store_code") or "default"
        return {"store": store_summary(body, code)}

    def hint(self, exc: ConnectorError) -> str | None:
        text = exc.message
        if "store that was requested wasn't found" in text:
            return f"wrong store code {self.credentials.get('store_code') or 'default'!r}"
        if not isinstance(exc, AuthError):
            return None
        resource = text.split("access", 1)[1].strip(" .") if "authorized to access" in text else ""
        if "consumer_key" not in self.credentials or not self.credentials["consumer_key"]:
            return (
                "auth scheme refused or permission missing: Magento 2.4.4+ refuses an "
                "integration's access token as a bearer token (give consumer_key, "
                "consumer_secret and access_token_secret to sign OAuth 1.0a)"
                + (f"; or the integration lacks {resource}" if resource else "")
            )
        return f"permission missing: the integration lacks {resource or 'this resource'}"

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        def probe(path: str, flow: str) -> Callable[[], Awaitable[str]]:
            async def run() -> str:
                params = search_criteria(page_size=1, current_page=1)
                _, total = await self._search(path, flow, params)
                return f"GET {self.prefix}/{path} answered; total_count {total}"

            return run

        async def stock() -> str:
            if self._msi:
                try:
                    await self._search(
                        "inventory/source-items",
                        self.stock_flow,
                        search_criteria(page_size=1, current_page=1),
                    )
                except ProtocolError as exc:
                    if exc.status != 404:
                        raise
                    self._msi = False
                else:
                    stock_id = await self.stock_id()
                    return f"salable quantity (MSI) of stock {stock_id}, the store's website's"
            await self._read("stockItems/lowStock", self.stock_flow, {"qty": "0", "pageSize": "1"})
            return "no MSI (source-items: 404, or msi: no): stock from stockItems/{sku}"

        return [
            ("orders", probe("orders", self.order_flow)),
            ("stock (MSI salable quantity)", stock),
        ]


def _in_stock(flag: bool) -> str:
    return "in_stock" if flag else "out_of_stock"
