"""Test doubles the connector tests share: fixtures, a fixed clock, recorded sleeps, HTTP mocks.

The fakes below answer like the vendors do (filters, paging, headers) over the recorded
payloads in ``tests/fixtures/<vendor>/``, so a test can change a record and poll again.
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest
import pytest_asyncio
import respx

from connectors.http import RetryPolicy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def load(vendor: str, name: str) -> Any:
    return json.loads((FIXTURES / vendor / name).read_text())


class Clock:
    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Sleeps:
    """Records the delays a connector asked for instead of sleeping them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fast_retry() -> RetryPolicy:
    return RetryPolicy(attempts=3, initial_delay=0.01, max_delay=0.05, jitter=0.01)


@pytest.fixture
def router() -> respx.Router:
    router = respx.Router(assert_all_mocked=True, assert_all_called=False)
    # WooCommerce's health read after each round (test_woocommerce_health.py tests it).
    router.get(url__regex=r"/wp-json/wc/v3/webhooks").respond(200, json=[])
    router.get(url__regex=r"/wp-json/wc/v3/system_status").respond(200, json={})
    # Magento's (test_magento_health.py tests it).
    router.get(url__regex=r"/rest/[^/]+/V1/modules$").respond(200, json=[])
    router.get(url__regex=r"/rest/[^/]+/V1/store/storeConfigs$").respond(200, json=[])
    return router


@pytest_asyncio.fixture
async def http(router: respx.Router) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as client:
        yield client


def common(
    clock: Clock, sleeps: Sleeps, fast_retry: RetryPolicy, http: httpx.AsyncClient
) -> dict[str, Any]:
    return {"client": http, "clock": clock, "sleep": sleeps, "retry": fast_retry}


@pytest.fixture
def deps(
    clock: Clock, sleeps: Sleeps, fast_retry: RetryPolicy, http: httpx.AsyncClient
) -> dict[str, Any]:
    """The keyword arguments every connector constructor takes in tests."""
    return common(clock, sleeps, fast_retry, http)


# -- WooCommerce ---------------------------------------------------------------------------------

ORDER_4505_DATA = {
    "lines": 2,
    "total": "199.00",
    "currency": "PLN",
    "skus": {"ABC-1": 1, "ABC-2": 1},
    "id": 4505,
}
"""The comparable facts of orders.json's order 4505, whether polled or pushed by a webhook."""


class FakeWoo:
    """Orders filtered by modified_after (strict, GMT), sorted by modification, paged."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = load("woocommerce", "orders.json")
        self.products: list[dict[str, Any]] = load("woocommerce", "products.json")
        self.variations: dict[int, list[dict[str, Any]]] = {}
        self.requests: list[httpx.Request] = []

    def touch(self, order_id: int, modified: str, **changes: Any) -> None:
        for order in self.orders:
            if order["id"] == order_id:
                order.update(date_modified_gmt=modified, date_modified=modified, **changes)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        params = request.url.params
        per_page = int(params.get("per_page", "10"))
        page = int(params.get("page", "1"))
        if request.url.path.endswith("/orders"):
            after = params.get("modified_after")
            items = [o for o in self.orders if not after or o["date_modified_gmt"] > after]
            items.sort(key=lambda o: (o["date_modified_gmt"], o["id"]))
        elif request.url.path.endswith("/variations"):
            parent = int(request.url.path.split("/")[-2])
            items = self.variations.get(parent, [])
        else:
            items = sorted(self.products, key=lambda p: p["id"])
        total_pages = max(1, -(-len(items) // per_page))
        chunk = copy.deepcopy(items[(page - 1) * per_page : page * per_page])
        return httpx.Response(
            200,
            json=chunk,
            headers={"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(total_pages)},
        )


@pytest.fixture
def woo() -> FakeWoo:
    return FakeWoo()


# -- BaseLinker ----------------------------------------------------------------------------------


class FakeBaseLinker:
    """connector.php: getOrders by date_confirmed_from (inclusive, 100 a call), the journal
    after last_log_id, and the inventory; ``overrides`` swaps one method's answer."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = load("baselinker", "getOrders.json")["orders"]
        self.logs: list[dict[str, Any]] = load("baselinker", "getJournalList.json")["logs"]
        self.per_call = 100
        self.overrides: dict[str, Callable[[], httpx.Response]] = {}
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        method = form["method"][0]
        parameters = json.loads(form.get("parameters", ["{}"])[0])
        self.calls.append((method, parameters, request.headers.get("X-BLToken")))
        if method in self.overrides:
            return self.overrides[method]()
        if method == "getOrders":
            since = parameters.get("date_confirmed_from", 0)
            found = sorted(
                (o for o in self.orders if o["date_confirmed"] >= since),
                key=lambda o: (o["date_confirmed"], o["order_id"]),
            )
            return httpx.Response(200, json={"status": "SUCCESS", "orders": found[: self.per_call]})
        if method == "getJournalList":
            last = parameters.get("last_log_id", 0)
            logs = [entry for entry in self.logs if entry["id"] > last]
            return httpx.Response(200, json={"status": "SUCCESS", "logs": logs})
        return httpx.Response(200, json=load("baselinker", f"{method}.json"))


@pytest.fixture
def baselinker() -> FakeBaseLinker:
    return FakeBaseLinker()


# -- Odoo ------------------------------------------------------------------------------------------


class FakeOdoo:
    """sale.order / stock.quant / product.product search_read over /jsonrpc and /json/2."""

    def __init__(self) -> None:
        self.tables: dict[str, list[dict[str, Any]]] = {
            "sale.order": load("odoo", "sale_order.json"),
            "stock.quant": load("odoo", "stock_quant.json"),
            "product.product": load("odoo", "product_product.json"),
            "sale.order.line": load("odoo", "sale_order_line.json"),
        }
        self.api_key = "odoo-key"
        self.password = "secret"
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    def _search(self, model: str, kwargs: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self.tables[model]
        unknown = set(kwargs.get("fields") or []) - {k for row in rows for k in row}
        if rows and unknown:  # Odoo refuses a field the model does not have
            raise ValueError(f"Invalid field {sorted(unknown)[0]!r} on model {model!r}")
        for field_name, op, value in kwargs.get("domain", []):
            if field_name == "write_date" and op == ">=":
                rows = [r for r in rows if r["write_date"] >= value]
            elif field_name == "id" and op == "in":
                rows = [r for r in rows if r["id"] in value]
        if kwargs.get("order", "").startswith("write_date"):
            rows = sorted(rows, key=lambda r: (r["write_date"], r["id"]))
        offset = kwargs.get("offset", 0)
        limit = kwargs.get("limit") or len(rows)
        fields = kwargs.get("fields")
        return [
            {k: v for k, v in row.items() if not fields or k in fields or k == "id"}
            for row in copy.deepcopy(rows[offset : offset + limit])
        ]

    def _run(self, model: str, method: str, kwargs: dict[str, Any]) -> Any:
        self.requests.append((model, method, kwargs))
        if method == "search_count":
            return len(self.tables[model])
        return self._search(model, kwargs)

    def jsonrpc(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        params = payload["params"]
        if params["service"] == "common":
            _db, _login, password = params["args"]
            return httpx.Response(
                200,
                json={
                    "jsonrpc": "2.0",
                    "id": payload["id"],
                    "result": 2 if password == self.password else False,
                },
            )
        _db, _uid, _password, model, method, _args, kwargs = params["args"]
        try:
            result = self._run(model, method, kwargs)
        except ValueError as exc:
            error = {"name": "builtins.ValueError", "message": str(exc)}
            body = {"code": 200, "message": "Odoo Server Error", "data": error}
            return httpx.Response(200, json={"jsonrpc": "2.0", "id": payload["id"], "error": body})
        return httpx.Response(200, json={"jsonrpc": "2.0", "id": payload["id"], "result": result})

    def json2(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != f"bearer {self.api_key}":
            return httpx.Response(401, json=load("odoo", "json2_invalid_apikey.json"))
        _, _, _, model, method = request.url.path.split("/")
        try:
            return httpx.Response(200, json=self._run(model, method, json.loads(request.content)))
        except ValueError as exc:
            return httpx.Response(422, json={"name": "builtins.ValueError", "message": str(exc)})


@pytest.fixture
def odoo() -> FakeOdoo:
    return FakeOdoo()


# -- Magento ---------------------------------------------------------------------------------------


class FakeMagento:
    """searchCriteria over orders and MSI source items, with Magento's paging quirk: a page
    past the end answers the last page again."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = load("magento", "orders.json")
        self.source_items: list[dict[str, Any]] = load("magento", "source_items.json")
        self.requests: list[httpx.Request] = []

    salable: dict[int, dict[str, float]] = {
        # stock 2 (default + warsaw) less reservations; stock 3 is warsaw alone
        2: {"ABC-1": 9.5, "ABC-2": 0, "TSHIRT-M": 3},
        3: {"ABC-1": 2.5, "TSHIRT-M": 4},
    }

    def resources(self, request: httpx.Request) -> httpx.Response:
        """Everything under /rest/<store>/V1/ that is not a searchCriteria list."""
        self.requests.append(request)
        path = request.url.path.split("/V1/", 1)[1]
        parts = [unquote(p) for p in path.split("/")]
        if path == "store/storeViews":
            return httpx.Response(200, json=load("magento", "store_views.json"))
        if path == "store/websites":
            return httpx.Response(200, json=load("magento", "store_websites.json"))
        if parts[:3] == ["inventory", "stock-resolver", "website"] and parts[3] == "base":
            return httpx.Response(200, json=load("magento", "stock_resolver_base.json"))
        if parts[:2] == ["inventory", "get-product-salable-quantity"]:
            return httpx.Response(200, json=self.salable[int(parts[3])].get(parts[2], 0))
        if parts[0] == "stockItems" and parts[1] == "ABC-1":
            return httpx.Response(200, json=load("magento", "stock_item_abc1.json"))
        if path == "stockItems/lowStock":
            return httpx.Response(200, json={"items": [], "search_criteria": {}, "total_count": 0})
        if path == "products":
            return httpx.Response(200, json=load("magento", "products_simple.json"))
        if path in ("orders", "inventory/source-items"):
            return self.handle(request)
        return httpx.Response(404, json={"message": "Request does not match any route."})

    def handle(self, request: httpx.Request) -> httpx.Response:
        if not self.requests or self.requests[-1] is not request:
            self.requests.append(request)
        params = dict(request.url.params)
        rows = self.orders if request.url.path.endswith("/orders") else self.source_items
        group = 0
        while f"searchCriteria[filter_groups][{group}][filters][0][field]" in params:
            prefix = f"searchCriteria[filter_groups][{group}][filters][0]"
            field_name, value = params[f"{prefix}[field]"], params[f"{prefix}[value]"]
            condition = params.get(f"{prefix}[condition_type]", "eq")
            if condition == "gt":
                rows = [r for r in rows if str(r[field_name]) > value]
            else:
                rows = [r for r in rows if str(r[field_name]) == value]
            group += 1
        sort_field = params.get("searchCriteria[sortOrders][0][field]")
        if sort_field:
            rows = sorted(rows, key=lambda r: (r[sort_field], r.get("entity_id", 0)))
        size = int(params.get("searchCriteria[pageSize]", "20"))
        page = int(params.get("searchCriteria[currentPage]", "1"))
        last_page = max(1, -(-len(rows) // size))
        page = min(page, last_page)
        return httpx.Response(
            200,
            json={
                "items": copy.deepcopy(rows[(page - 1) * size : page * size]),
                "search_criteria": {"page_size": size, "current_page": page},
                "total_count": len(rows),
            },
        )


@pytest.fixture
def magento() -> FakeMagento:
    return FakeMagento()
