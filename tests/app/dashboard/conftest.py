"""The dashboard's fixtures: a service on SQLite fed with a fault scenario, and sign-in helpers.

The scenario is the one the issue names: the ERP answers 503 to every order the OMS pushes,
so ``order oms→erp`` fails (unavailable, the ERP's vendor answers for it) while ``shop→oms``
stays healthy; a warehouse downstream of the ERP makes ``erp→wms`` blocked, not failed; one
SKU's stock drifts with oversell risk.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests import paths
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import STANDARD_TOPOLOGY_JSON, World, erp_id, oms_id
from tests.servers import serve_in_thread

WORKSPACE = "acme"
FAILING_ORDERS = range(100_040, 100_064)
HEALTHY_ORDERS = range(100_001, 100_007)
DRIFTING_SKU = "ABC-1"


def fault_topology() -> dict[str, Any]:
    """The CONTRACT.md topology plus a warehouse fed by the ERP (so a link can be blocked)."""
    topology = copy.deepcopy(STANDARD_TOPOLOGY_JSON)
    topology["systems"].append({"id": "wms", "kind": "generic", "vendor": "Warehouse Co"})
    topology["links"].append(
        {
            "flow": "order",
            "from": "erp",
            "to": "wms",
            "initiator": "from",
            "owner": "ERP partner",
            "sla_seconds": 900,
        }
    )
    return topology


def fault_events(now: datetime) -> list[dict[str, Any]]:
    """Healthy orders first, then every push to the ERP answered 503; stock drifting."""
    world = World(start=now - timedelta(hours=4))
    for i, number in enumerate(HEALTHY_ORDERS):
        at = i * 300.0
        world.order(number, at=at, oms_after=60, erp_after=90)
        world.seen("wms", at + 400, {"erp": erp_id(number), "wms": f"WMS-{number}"}, state="picked")
    for i, number in enumerate(FAILING_ORDERS):
        world.order(
            number,
            at=3600 + i * 120.0,
            oms_after=60,
            pushes=(503, 503, 503),
            erp_after=None,
        )
    # The ERP's quantity dropped from 12 to 5 and the OMS never fetched it: the shop still
    # shows 12, more than the ERP holds.
    world.stock("erp", DRIFTING_SKU, 0, 12)
    world.stock("oms", DRIFTING_SKU, 60, 12)
    world.stock("shop", DRIFTING_SKU, 120, 12)
    world.stock("erp", DRIFTING_SKU, 3 * 3600, 5)
    for sku, quantity in (("XYZ-9", 4), ("QQ-7", 30)):
        for offset, system in enumerate(("erp", "oms", "shop")):
            world.stock(system, sku, 200 + offset * 60, quantity)
    return [event.to_json() for event in world.events]


def failing_order(index: int = 0) -> tuple[str, str]:
    number = list(FAILING_ORDERS)[index]
    return str(number), oms_id(number)


def healthy_erp_document() -> str:
    return erp_id(HEALTHY_ORDERS[0])


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """SQLite only: the dashboard reads through the same store code the API tests cover."""
    return f"sqlite:///{tmp_path / 'arbiter.db'}"


def feed(api: TestClient, ws: str = WORKSPACE, *, now: datetime | None = None) -> None:
    """Create ``ws`` with the fault topology and events, through the public API."""
    assert api.put(f"/api/v1/workspaces/{ws}", json={"name": "ACME Store"}).status_code in (
        200,
        201,
    )
    assert api.put(f"/api/v1/workspaces/{ws}/topology", json=fault_topology()).status_code == 200
    events = fault_events(now or datetime.now(UTC))
    answer = api.post(f"/api/v1/workspaces/{ws}/events", json={"events": events})
    assert answer.status_code == 202, answer.text


ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def admin_api(client: TestClient) -> TestClient:
    """A bearer-token client of the same app (no lifespan of its own: the app already runs)."""
    return TestClient(client.app, headers=ADMIN)


@pytest.fixture
def app_client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A client of a fresh service with no credentials: it signs in like a browser."""
    app = create_app(settings_factory(demo=False))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def fed(app_client: TestClient) -> TestClient:
    """``app_client`` with the ``acme`` workspace fed with the fault scenario."""
    feed(admin_api(app_client))
    return app_client


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def submit(client: TestClient, page: Any, url: str, **fields: str) -> Any:
    """Post a form of ``page`` (a response) to ``url`` as the browser does: ``fields`` and the
    page's CSRF token."""
    return client.post(url, data={"csrf": csrf_of(page.text), **fields})


def sign_in(client: TestClient, token: str = ADMIN_TOKEN) -> Any:
    form = client.get("/signin")
    assert form.status_code == 200
    return submit(client, form, "/signin", token=token)


def workspace_token(client: TestClient, ws: str = WORKSPACE) -> tuple[str, str]:
    """(token id, secret) of a new token of ``ws``."""
    api = admin_api(client)
    api.put(f"/api/v1/workspaces/{ws}", json={})
    body = api.post(f"/api/v1/workspaces/{ws}/tokens", json={"name": "dash"}).json()
    return body["id"], body["token"]


# -- the browser suite (``*_browser`` modules): a real server on loopback and Chromium ------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = paths.ARTIFACTS / "dashboard"


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing")


@pytest.fixture(scope="module")
def service_settings() -> dict[str, Any]:
    """The browser suite's settings beyond its store and admin token (a module may add some)."""
    return {}


@pytest.fixture(scope="module")
def service_app(
    tmp_path_factory: pytest.TempPathFactory, service_settings: dict[str, Any]
) -> FastAPI:
    """The application the server runs; tests reach its runtime to evaluate incidents."""
    require_chromium()
    data = tmp_path_factory.mktemp("dashboard-browser")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'arbiter.db'}",
        admin_token=ADMIN_TOKEN,  # type: ignore[arg-type]
        demo=False,
        **service_settings,
    )
    return create_app(settings)


@pytest.fixture(scope="module")
def server(service_app: FastAPI) -> Iterator[str]:
    """A real server on a free loopback port, fed with the fault scenario through the API."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with serve_in_thread(service_app, lifespan="on") as base:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            assert api.put("/api/v1/workspaces/acme", json={"name": "ACME Store"}).is_success
            assert api.put("/api/v1/workspaces/acme/topology", json=fault_topology()).is_success
            events = fault_events(datetime.now(UTC))
            assert api.post("/api/v1/workspaces/acme/events", json={"events": events}).is_success
        yield base


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    context = browser.new_context(base_url=server, timezone_id="Europe/Warsaw", locale="en-GB")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    opened.problems = problems
    try:
        yield opened
    finally:
        context.close()
    assert not problems, problems  # CSP violations and script errors show up here


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
