"""Odoo as the ERP: ``sale.order`` and ``stock.quant``, over either of Odoo's external APIs.

``credentials["protocol"]`` selects the API:

- ``jsonrpc`` (default, every Odoo version): ``POST /jsonrpc`` with a JSON-RPC 2.0 ``call``;
  service ``common`` method ``login`` gives the uid, then service ``object`` method
  ``execute_kw`` with ``[db, uid, password, model, method, args, kwargs]``. Errors come with
  HTTP 200 in ``error`` (``data.name`` is the Python exception: AccessDenied is an auth error).
  The password may be an API key.
- ``json2`` (Odoo 19+): ``POST /json/2/<model>/<method>`` with the method's parameters as the
  JSON body, ``Authorization: bearer <api_key>`` and ``X-Odoo-Database``. Errors use HTTP
  status codes with ``{"name", "message", ...}``.

Orders are read by ``write_date`` (keyset, see :mod:`connectors.polling`); ``name`` is this
system's number and ``client_order_ref`` carries the upstream (OMS) number. The comparable
facts: ``amount_total`` (gross, delivery included) and, from ``sale.order.line``, the product
lines only: a delivery line (``is_delivery``, from the ``delivery`` module) and section or note
lines (``display_type``) are not lines of the order as the shop and the OMS count them.
Stock is summed per
product ``default_code`` (the SKU) over quants in internal locations: available
(``quantity - reserved_quantity``) by default, or on hand with ``stock_quantity: on_hand``.
A SKU whose quants vanished (Odoo deletes empty quants) is reported as 0.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, ClassVar

import httpx

from connectors.base import AuthError, ConnectorError, ProtocolError
from connectors.polling import (
    Dating,
    PollingConnector,
    Stream,
    StreamState,
    add_sku,
    parse_time,
    read_pages,
    sql_time,
    whole,
)

PAGE = 200
ORDER_FIELDS = [
    "name",
    "client_order_ref",
    "state",
    "amount_total",
    "currency_id",
    "write_date",
    "order_line",
]
LINE_FIELDS = ["order_id", "product_id", "product_uom_qty", "display_type"]
AUTH_EXCEPTIONS = ("AccessDenied", "AccessError", "SessionExpired")
ORDER_DATING = Dating(
    "id",
    lambda record: parse_time(record.get("write_date")),
    lambda record: f"orders: sale.order {record.get('id')} has no write_date",
)


def classify_jsonrpc(response: httpx.Response, body: Any) -> ConnectorError | None:
    if not isinstance(body, dict) or ("result" not in body and "error" not in body):
        return ProtocolError("JSON-RPC: neither result nor error in the answer")
    error = body.get("error")
    if not isinstance(error, dict):
        return None
    data: dict[str, Any] = error["data"] if isinstance(error.get("data"), dict) else {}
    name = str(data.get("name") or error.get("code") or "")
    message = str(data.get("message") or error.get("message") or "")
    text = f"JSON-RPC error {name}: {message}"
    if any(kind in name for kind in AUTH_EXCEPTIONS):
        return AuthError(text, status=response.status_code, code=name)
    return ProtocolError(text, status=response.status_code, code=name or None)


def _many2one_name(value: Any) -> str | None:
    if isinstance(value, list | tuple) and len(value) == 2:
        return str(value[1])
    return None


def _many2one_id(value: Any) -> int | None:
    if isinstance(value, list | tuple) and value:
        return int(value[0])
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


class OdooConnector(PollingConnector):
    kind: ClassVar[str] = "odoo"

    page: int = PAGE

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.protocol = self.credentials.get("protocol") or "jsonrpc"
        self.database = self.credentials.get("database", "")
        self.login = self.credentials.get("login") or self.credentials.get("username", "")
        self.secret = self.credentials.get("password") or self.credentials.get("api_key", "")
        self._uid: int | None = None
        self._rpc_id = 0
        self._codes: dict[int, str | None] = {}
        self._has_delivery = True  # until Odoo says sale.order.line has no is_delivery

    # -- transport ------------------------------------------------------------------------------

    async def _jsonrpc(self, service: str, method: str, args: list[Any], flow: str) -> Any:
        self._rpc_id += 1
        label = f"POST /jsonrpc {service}.{method}"
        if service == "object":
            label += f" {args[3]}.{args[4]}"
        reply = await self.api.request(
            "POST",
            "/jsonrpc",
            flow=flow,
            label=label,
            classify=classify_jsonrpc,
            json={
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": args},
                "id": self._rpc_id,
            },
        )
        return reply.body["result"]

    async def uid(self, flow: str) -> int:
        if self._uid is None:
            uid = await self._jsonrpc(
                "common", "login", [self.database, self.login, self.secret], flow
            )
            if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
                raise AuthError(f"Odoo refused the login of {self.login!r} to {self.database!r}")
            self._uid = uid
        return self._uid

    async def call_kw(self, model: str, method: str, kwargs: dict[str, Any], flow: str) -> Any:
        """``model.method(**kwargs)`` over the configured protocol."""
        if self.protocol == "json2":
            headers = {"Authorization": f"bearer {self.secret}"}
            if self.database:
                headers["X-Odoo-Database"] = self.database
            reply = await self.api.request(
                "POST", f"/json/2/{model}/{method}", flow=flow, json=kwargs, headers=headers
            )
            return reply.body
        uid = await self.uid(flow)
        return await self._jsonrpc(
            "object",
            "execute_kw",
            [self.database, uid, self.secret, model, method, [], kwargs],
            flow,
        )

    async def search_read(self, model: str, flow: str, **kwargs: Any) -> list[dict[str, Any]]:
        records = await self.call_kw(model, "search_read", kwargs, flow)
        if not isinstance(records, list):
            raise ProtocolError(f"{model}.search_read: expected a list of records")
        return [r for r in records if isinstance(r, dict)]

    # -- streams ----------------------------------------------------------------------------------

    def streams(self) -> dict[str, Stream]:
        return {"orders": self._orders, "stock": self._stock}

    async def _orders(self, state: StreamState) -> None:
        async def read_page(since: datetime, page: int) -> tuple[list[Any], bool]:
            records = await self.search_read(
                "sale.order",
                self.order_flow,
                domain=[["write_date", ">=", sql_time(since)]],
                fields=ORDER_FIELDS,
                order="write_date asc, id asc",
                limit=self.page,
                offset=page * self.page,
            )
            return records, len(records) >= self.page

        async def emit(fresh: list[tuple[str, Any]]) -> None:
            lines = await self._order_lines([record for _, record in fresh])
            for _, record in fresh:
                self._emit_order(state, record, lines)

        await read_pages(state, self.first_since(), read_page, ORDER_DATING, emit)

    async def _order_lines(self, orders: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        """The orders' ``sale.order.line`` records by id (one call per page of orders)."""
        ids = sorted({i for o in orders for i in o.get("order_line") or [] if isinstance(i, int)})
        found: dict[int, dict[str, Any]] = {}
        for start in range(0, len(ids), self.page):
            chunk = ids[start : start + self.page]
            try:
                rows = await self.search_read(
                    "sale.order.line",
                    self.order_flow,
                    domain=[["id", "in", chunk]],
                    fields=[*LINE_FIELDS, *(["is_delivery"] if self._has_delivery else [])],
                )
            except ProtocolError as exc:
                if not self._has_delivery or "is_delivery" not in exc.message:
                    raise
                # No delivery module installed: no delivery lines, and no such field.
                self._has_delivery = False
                rows = await self.search_read(
                    "sale.order.line",
                    self.order_flow,
                    domain=[["id", "in", chunk]],
                    fields=LINE_FIELDS,
                )
            found.update({int(row["id"]): row for row in rows if isinstance(row.get("id"), int)})
        product_ids = {
            pid for row in found.values() if (pid := _many2one_id(row.get("product_id")))
        }
        await self._load_codes(product_ids - set(self._codes))
        return found

    def _emit_order(
        self, state: StreamState, record: dict[str, Any], lines: dict[int, dict[str, Any]]
    ) -> None:
        try:
            written = parse_time(record.get("write_date"))
            if written is None:
                raise ValueError("no write_date")
            product_lines = [
                lines[i]
                for i in record.get("order_line") or []
                if i in lines
                and not lines[i].get("is_delivery")
                and not lines[i].get("display_type")
            ]
            skus: dict[str, float] = {}
            for line in product_lines:
                code = self._codes.get(_many2one_id(line.get("product_id")) or 0)
                add_sku(skus, code, line.get("product_uom_qty"))
            state.events.append(
                self.order_event(
                    number=str(record["name"]),
                    modified=written,
                    state=record.get("state") or None,
                    total=record.get("amount_total"),
                    currency=_many2one_name(record.get("currency_id")),
                    lines=len(product_lines),
                    skus=skus,
                    upstream_ref=record.get("client_order_ref") or None,
                    extra={"id": record.get("id")},
                )
            )
        except (KeyError, ValueError) as exc:
            state.notes.append(f"orders: sale.order {record.get('id')} skipped: {exc}")

    async def _stock(self, state: StreamState) -> None:
        at = self.clock()
        quants: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.search_read(
                "stock.quant",
                self.stock_flow,
                domain=[["location_id.usage", "=", "internal"]],
                fields=["product_id", "quantity", "reserved_quantity", "location_id"],
                order="id asc",
                limit=self.page,
                offset=offset,
            )
            quants.extend(page)
            if len(page) < self.page:
                break
            offset += len(page)
        product_ids = {pid for q in quants if (pid := _many2one_id(q.get("product_id")))}
        await self._load_codes(product_ids - set(self._codes))
        totals: dict[str, list[float]] = {}
        for quant in quants:
            sku = self._codes.get(_many2one_id(quant.get("product_id")) or 0)
            if sku:
                sums = totals.setdefault(sku, [0.0, 0.0])
                sums[0] += float(quant.get("quantity") or 0)
                sums[1] += float(quant.get("reserved_quantity") or 0)
        on_hand = self.credentials.get("stock_quantity") == "on_hand"
        levels: dict[str, tuple[float | None, str | None, dict[str, Any]]] = {}
        for sku, (quantity, reserved) in totals.items():
            value = quantity if on_hand else quantity - reserved
            levels[sku] = (whole(value), None, {"on_hand": quantity, "reserved": reserved})
        for sku in state.cursor.get("levels") or {}:
            levels.setdefault(sku, (0, None, {"on_hand": 0, "reserved": 0}))
        self.stock_changes(state, levels, at)

    async def _load_codes(self, product_ids: set[int]) -> None:
        ids = sorted(product_ids)
        for start in range(0, len(ids), self.page):
            chunk = ids[start : start + self.page]
            products = await self.search_read(
                "product.product",
                self.stock_flow,
                domain=[["id", "in", chunk]],
                fields=["default_code"],
                context={"active_test": False},
            )
            for product in products:
                code = product.get("default_code")
                self._codes[int(product["id"])] = str(code) if code else None
            for missing in set(chunk) - set(self._codes):
                self._codes[missing] = None

    # -- test -------------------------------------------------------------------------------------

    def hint(self, exc: ConnectorError) -> str | None:
        if "AccessError" in (exc.code or "") or exc.status == 403:
            return "permission missing: the user's groups may not read this model"
        if isinstance(exc, AuthError):
            return "credentials refused: database, login, password or API key"
        return None

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        async def login() -> str:
            if self.protocol == "json2":
                return "json2 protocol: the API key is checked by the calls below"
            uid = await self.uid(self.order_flow)
            return f"login of {self.login!r} to {self.database!r} gave uid {uid}"

        def count(model: str, flow: str) -> Callable[[], Awaitable[str]]:
            async def probe() -> str:
                found = await self.call_kw(model, "search_count", {"domain": []}, flow)
                return f"{model}: {found} records readable over {self.protocol}"

            return probe

        return [
            ("login", login),
            ("sale.order", count("sale.order", self.order_flow)),
            ("stock.quant", count("stock.quant", self.stock_flow)),
        ]
