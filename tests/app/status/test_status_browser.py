"""The status page in real headless Chromium: the public page in English and Polish following
an open incident, the banner inside a sandboxed iframe, and posting an update from the
dashboard's tab. Screenshots land in ``test-artifacts/status/``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.incidents.evaluator import evaluate_workspace
from tests import paths
from tests.app.dashboard.conftest import browser, page, server, service_app, service_settings
from tests.app.dashboard.test_browser import sign_in
from tests.conftest import ADMIN_TOKEN

# The dashboard's browser fixtures: this module runs its own server and browser the same way.
__all__ = ["browser", "page", "server", "service_app", "service_settings"]

pytestmark = pytest.mark.browser

ARTIFACTS = paths.ARTIFACTS / "status"
SETTINGS = {
    "enabled": True,
    "name": "ACME Store",
    "language": "en",
    "accent": "#7c3aed",
    "contact_email": "help@acme.example",
    "contact_phone": "+48 600 100 200",
}


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _serve(html: str) -> str:
    """A shop's theme page on a loopback server of its own: another origin than Arbiter's."""
    body = html.encode()

    class Theme(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = HTTPServer(("127.0.0.1", 0), Theme)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/"


def _api(server: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    return httpx.Client(base_url=f"{server}/api/v1/workspaces/acme", headers=headers)


def test_public_page_banner_and_dashboard_update(
    page: Any, server: str, service_app: FastAPI
) -> None:
    evaluate_workspace(service_app.state.runtime, "acme")  # the ERP's outage opens an incident
    with _api(server) as api:
        api.put("/status-page", json=SETTINGS).raise_for_status()

    page.goto("/status/acme")
    state = page.locator("section.state")
    assert state.get_attribute("data-state") == "degraded"
    assert "Orders are accepted, but order confirmations" in state.inner_text()
    accent = page.locator("header").evaluate("h => getComputedStyle(h).backgroundColor")
    assert accent == "rgb(124, 58, 237)"
    body = page.locator("body").inner_text()
    assert "ERP partner" not in body
    assert "erp" not in body.lower().split()
    _shot(page, "01-public-en")

    theme = _serve(
        f'<!doctype html><p>A theme</p><iframe src="{server}/status/acme/banner" sandbox '
        'title="Shop status" style="width:100%;border:0"></iframe>'
    )
    page.goto(theme)
    frame = page.frame_locator("iframe")
    banner = frame.locator("a")
    assert banner.get_attribute("data-state") == "degraded"
    assert banner.inner_text().startswith("Orders are accepted")
    _shot(page, "02-banner-in-a-theme")

    sign_in(page)
    page.goto("/w/acme/status-page")
    _shot(page, "03-dashboard-tab")
    page.get_by_label("Stock shown in the shop may be out of date.").check()
    page.get_by_role("button", name="Post update").click()
    page.wait_for_url("**/w/acme/status-page#updates")
    assert "Stock shown in the shop may be out of date." in page.locator("ul.posted").inner_text()

    with _api(server) as api:
        api.put("/status-page", json=SETTINGS | {"language": "pl"}).raise_for_status()
    page.goto("/status/acme")
    assert page.locator("html").get_attribute("lang") == "pl"
    assert "Zamówienia są przyjmowane" in page.locator("section.state").inner_text()
    assert "Stock shown in the shop may be out of date." in page.locator("ul.updates").inner_text()
    _shot(page, "04-public-pl")
