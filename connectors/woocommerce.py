"""WooCommerce REST API v3 (``/wp-json/wc/v3``): orders and product stock.

Orders are read incrementally with ``modified_after`` (GMT dates), newest modification last,
``per_page`` up to 100, and ``X-WP-TotalPages`` to know whether more remain. Stock is a full
pass over products (``sku``, ``manage_stock``, ``stock_quantity``, ``stock_status``): changing a
product's stock does not reliably move its modification date, so a date filter would miss it.

Auth with the ``ck_…``/``cs_…`` key pair, as WooCommerce accepts it: over plain ``http://``
only a one-legged OAuth 1.0a signature (``auth: oauth1``, the default there); over HTTPS HTTP
Basic (``auth: basic``, the default there) or the ``consumer_key``/``consumer_secret`` query
parameters (``auth: query``, for hosts that strip the ``Authorization`` header). Errors come as
``{"code", "message", "data": {"status"}}``. In the order flow the shop's namespace gets the
order ``number`` (what the merchant and the OMS see); the post ``id`` is kept in ``data``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.base import AuthError, ConnectorError, ProtocolError, RateLimited
from connectors.oauth import OAuth1
from connectors.polling import (
    Dating,
    EventBuilder,
    PollingConnector,
    Stream,
    StreamState,
    add_sku,
    parse_time,
    read_pages,
)
from graph.model import Event

API = "/wp-json/wc/v3"
PER_PAGE = 100


def webhook_summary(hook: dict[str, Any]) -> dict[str, Any]:
    """A webhook as a warning names it: its topic and where it delivers, without the query
    string (a delivery URL may carry a token)."""
    url = httpx.URL(str(hook.get("delivery_url") or ""))
    return {
        "id": hook.get("id"),
        "topic": str(hook.get("topic") or "?"),
        "name": hook.get("name"),
        "delivery": f"{url.scheme}://{url.host}{url.path}" if url.host else None,
    }


def platform_summary(body: Any) -> dict[str, Any]:
    """Versions and WP-Cron from ``system_status`` (keys absent from the answer stay None).

    >>> platform_summary({"environment": {"version": "9.4.2", "wp_version": "6.7",
    ...     "wp_cron": True}, "active_plugins": [{"plugin": "a/a.php", "version": "1.0"}]})
    {'woocommerce': '9.4.2', 'wordpress': '6.7', 'wp_cron': True, 'plugins': {'a/a.php': '1.0'}}
    """
    environment = body.get("environment") if isinstance(body, dict) else None
    environment = environment if isinstance(environment, dict) else {}
    plugins = body.get("active_plugins") if isinstance(body, dict) else None
    wp_cron = environment.get("wp_cron")
    return {
        "woocommerce": environment.get("version"),
        "wordpress": environment.get("wp_version"),
        "wp_cron": wp_cron if isinstance(wp_cron, bool) else None,
        "plugins": {
            str(p.get("plugin")): p.get("version")
            for p in (plugins if isinstance(plugins, list) else [])[:200]
            if isinstance(p, dict) and p.get("plugin")
        },
    }


def order_modified(order: dict[str, Any]) -> datetime | None:
    return parse_time(order.get("date_modified_gmt")) or parse_time(order.get("date_modified"))


ORDER_DATING = Dating(
    "id",
    lambda order: order_modified(order) if isinstance(order, dict) else None,
    lambda _: "orders: skipped a record without a modification date",
)


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


def variation_level(
    parent: dict[str, Any], variation: dict[str, Any]
) -> tuple[float | None, str | None, dict[str, Any]]:
    """A variation's level; ``manage_stock: "parent"`` means the parent product's stock."""
    source = parent if variation.get("manage_stock") == "parent" else variation
    quantity, status, _ = product_level(source)
    status = variation.get("stock_status") or status
    return quantity, status, {"id": variation.get("id"), "parent_id": parent.get("id")}


class WooCommerceConnector(PollingConnector):
    kind: ClassVar[str] = "woocommerce"

    per_page: int = PER_PAGE

    @property
    def auth_scheme(self) -> str:
        chosen = self.credentials.get("auth")
        if chosen:
            return chosen
        return "basic" if self.base_url.lower().startswith("https://") else "oauth1"

    def _auth(self, params: dict[str, Any]) -> dict[str, Any]:
        """The request's auth keywords for httpx (``params`` gains the query-string keys)."""
        key = self.credentials.get("consumer_key", "")
        secret = self.credentials.get("consumer_secret", "")
        if self.auth_scheme == "query":
            return {"params": {**params, "consumer_key": key, "consumer_secret": secret}}
        if self.auth_scheme == "oauth1":
            return {"params": params, "auth": OAuth1(key, secret, in_query=True)}
        return {"params": params, "auth": httpx.BasicAuth(key, secret)}

    async def _get(self, path: str, flow: str, params: dict[str, Any]) -> tuple[Any, int]:
        reply = await self.api.request("GET", f"{API}/{path}", flow=flow, **self._auth(params))
        if not isinstance(reply.body, list):
            raise ProtocolError(f"GET {API}/{path}: expected a JSON list, got {type(reply.body)}")
        try:
            pages = int(reply.response.headers.get("x-wp-totalpages", "1"))
        except ValueError:
            pages = 1
        return reply.body, pages

    def streams(self) -> dict[str, Stream]:
        return {"orders": self._orders, "stock": self._stock}

    async def health(self, state: StreamState) -> None:
        """The webhooks WooCommerce disabled after failed deliveries (each an outage of its
        own: that topic's pushes stop), and from ``system_status`` the WordPress and
        WooCommerce versions and WP-Cron."""
        try:
            hooks, _pages = await self._get("webhooks", self.order_flow, {"per_page": 100})
        except RateLimited:
            raise
        except ConnectorError as exc:  # a key without manage_woocommerce may not list them
            state.notes.append(f"health: webhooks not readable: {self.explain(exc)}")
        else:
            disabled = [
                webhook_summary(h)
                for h in hooks
                if isinstance(h, dict) and h.get("status") == "disabled"
            ]
            state.health.update(webhook_disabled=bool(disabled), webhooks_disabled=disabled)
        try:
            reply = await self.api.request(
                "GET", f"{API}/system_status", flow=self.order_flow, **self._auth({})
            )
        except RateLimited:
            raise
        except ConnectorError as exc:
            state.notes.append(f"health: system_status not readable: {self.explain(exc)}")
        else:
            platform = platform_summary(reply.body)
            state.health["platform"] = platform
            if platform.get("wp_cron") is False:
                state.notes.append(
                    "health: WP-Cron is disabled (DISABLE_WP_CRON): scheduled actions, "
                    "background webhook deliveries among them, run only when a server cron "
                    "calls wp-cron.php"
                )

    async def _orders(self, state: StreamState) -> None:
        async def read_page(since: datetime, page: int) -> tuple[list[Any], bool]:
            # modified_after is strict: one second earlier makes it "at or after" since.
            params = {
                "modified_after": (since - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S"),
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": self.per_page,
                "page": page + 1,
            }
            orders, total_pages = await self._get("orders", self.order_flow, params)
            return orders, bool(orders) and page + 1 < total_pages

        async def emit(fresh: list[tuple[str, Any]]) -> None:
            for key, order in fresh:
                try:
                    state.events.append(order_to_event(self, order))
                except ValueError as exc:
                    state.notes.append(f"orders: order id {key} skipped: {exc}")

        await read_pages(state, self.first_since(), read_page, ORDER_DATING, emit)

    async def _stock(self, state: StreamState) -> None:
        at = self.clock()
        levels: dict[str, tuple[float | None, str | None, dict[str, Any]]] = {}
        variable: list[dict[str, Any]] = []
        async for product in self._pages("products", {"orderby": "id", "order": "asc"}):
            if product.get("sku"):
                levels[str(product["sku"])] = product_level(product)
            if product.get("type") == "variable" or product.get("variations"):
                variable.append(product)
        # A variable product keeps its stock on its variations (each with its own SKU): the
        # SKUs orders and webhooks name. One list call per variable product.
        for parent in variable:
            path = f"products/{parent.get('id')}/variations"
            async for variation in self._pages(path, {"orderby": "id", "order": "asc"}):
                if variation.get("sku"):
                    levels[str(variation["sku"])] = variation_level(parent, variation)
        self.stock_changes(state, levels, at)

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while True:
            items, total_pages = await self._get(
                path, self.stock_flow, {**params, "per_page": self.per_page, "page": page}
            )
            for item in items:
                if isinstance(item, dict):
                    yield item
            if page >= total_pages or not items:
                return
            page += 1

    def hint(self, exc: ConnectorError) -> str | None:
        if not isinstance(exc, AuthError):
            return None
        anonymous = (exc.code or "").startswith("woocommerce_rest_cannot_")
        plain = not self.base_url.lower().startswith("https://")
        if anonymous and plain and self.auth_scheme != "oauth1":
            return (
                "auth scheme refused: over plain http WooCommerce reads only OAuth 1.0a "
                "signatures, not Basic or query keys (use auth: oauth1, or HTTPS)"
            )
        if anonymous and exc.status == 401 and self.auth_scheme == "basic":
            return (
                "auth scheme refused: the Authorization header did not reach WooCommerce "
                "(a proxy or host strips it?); try auth: query"
            )
        if anonymous:
            return "permission missing: the key's user may not read this resource"
        return "credentials refused: consumer key or secret (or the key was revoked)"

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        async def count(path: str, flow: str) -> str:
            reply = await self.api.request(
                "GET", f"{API}/{path}", flow=flow, **self._auth({"per_page": 1})
            )
            total = reply.response.headers.get("x-wp-total", "?")
            return f"GET {API}/{path} answered {reply.response.status_code}; {total} in all"

        return [
            ("orders", lambda: count("orders", self.order_flow)),
            ("products", lambda: count("products", self.stock_flow)),
        ]
