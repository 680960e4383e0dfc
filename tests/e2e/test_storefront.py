"""Each storefront fault of the sandbox is seen over real sockets: `arbiter serve` runs its
storefront checks against the sandbox's pages, TLS listener and mail server on loopback; a dead
hosting is diagnosed as the shop down (answered by its vendor), the rest raise warnings."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from sandbox.config import free_port_block
from tests.e2e.conftest import Arbiter, Sandbox, configure_workspace, start_sandbox, stop

pytestmark = pytest.mark.e2e

SLA = {"order": 4.0, "stock": 6.0}
DEADLINE_SECONDS = 60


def _checks(ports: dict[str, int]) -> dict[str, dict[str, Any]]:
    page = f"http://127.0.0.1:{ports['storefront']}"
    return {
        "home": {"kind": "http", "target": "shop", "url": f"{page}/", "page": "home",
                 "expect_text": "Sandbox Shop", "interval_seconds": 30},
        "checkout": {"kind": "http", "target": "shop", "url": f"{page}/checkout",
                     "page": "checkout", "expect_text": "Place order", "slow_factor": 3,
                     "interval_seconds": 30},
        "tls": {"kind": "tls", "target": "shop", "host": "localhost",
                "port": ports["storefront_tls"], "verify_tls": False, "interval_seconds": 30},
        "mail": {"kind": "smtp", "target": "shop", "host": "localhost",
                 "port": ports["storefront_mail"], "interval_seconds": 30},
    }  # fmt: skip


def _start(arbiter: Arbiter, workspace: str) -> Sandbox:
    base = free_port_block()
    token, secret = configure_workspace(arbiter, workspace, base, SLA)
    sandbox = start_sandbox(arbiter, workspace, token, secret, base_port=base)
    ports = httpx.get(f"{sandbox.control}/state").json()["ports"]
    with arbiter.api() as api:
        for check_id, body in _checks(ports).items():
            api.put(f"/workspaces/{workspace}/checks/{check_id}", json=body).raise_for_status()
    return sandbox


def _orders_flow(sandbox: Sandbox) -> None:
    """Wait until orders reach the ERP: a shop that dies before Arbiter saw any of its orders
    leaves nothing stuck to diagnose, only its failing checks."""
    deadline = time.monotonic() + 30
    while httpx.get(f"{sandbox.control}/state").json()["counts"]["erp_orders"] < 3:
        assert time.monotonic() < deadline, "no order reached the ERP within 30 s"
        time.sleep(0.5)


def _run(api: httpx.Client, workspace: str, check_id: str) -> dict[str, Any]:
    answer = api.post(f"/workspaces/{workspace}/checks/{check_id}/run")
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _warnings(api: httpx.Client, workspace: str, kind: str) -> list[dict[str, Any]]:
    found = api.get(f"/workspaces/{workspace}/warnings").json()["warnings"]
    return [w for w in found if w["kind"] == kind]


def test_site_down_is_the_shop_down(arbiter: Arbiter) -> None:
    workspace = "e2e-site-down"
    sandbox = _start(arbiter, workspace)
    try:
        _orders_flow(sandbox)
        sandbox.inject("site_down", "shop")
        deadline = time.monotonic() + DEADLINE_SECONDS
        suspects: list[dict[str, Any]] = []
        with arbiter.api() as api:
            for check_id in ("home", "mail", "home", "mail"):
                assert _run(api, workspace, check_id)["last"]["ok"] is False
            failing = {w["evidence"]["check"] for w in _warnings(api, workspace, "page_failing")}
            assert failing == {"home", "mail"}
            while time.monotonic() < deadline:
                _run(api, workspace, "home")
                answer = api.get(
                    f"/workspaces/{workspace}/diagnosis", params={"window_seconds": 600}
                )
                assert answer.status_code == 200, answer.text
                suspects = answer.json()["suspects"]
                first = suspects[0] if suspects else {}
                if (first.get("system"), first.get("mode")) == ("shop", "down"):
                    break
                time.sleep(1)
            else:
                pytest.fail(f"site_down: expected the shop down first; got {suspects[:3]}")
            topology = api.get(f"/workspaces/{workspace}/topology").json()
            vendor = next(s["vendor"] for s in topology["systems"] if s["id"] == "shop")
            assert first["responsible"] == vendor
    finally:
        stop(sandbox.process)


def test_checkout_500_slow_checkout_and_certificate(arbiter: Arbiter) -> None:
    workspace = "e2e-storefront"
    sandbox = _start(arbiter, workspace)
    try:
        with arbiter.api() as api:
            assert 89 < _run(api, workspace, "tls")["days_left"] <= 90
            sandbox.inject("cert_expiring", "shop", days=6)
            assert 5 < _run(api, workspace, "tls")["days_left"] <= 6
            (certificate,) = _warnings(api, workspace, "certificate_expiring")
            assert certificate["system"] == "shop"

            for _ in range(5):  # the checkout's usual time
                assert _run(api, workspace, "checkout")["last"]["ok"] is True
            sandbox.inject("slow_checkout", "shop", delay_seconds=1.0)
            assert _run(api, workspace, "checkout")["slow"] is True
            (slow,) = _warnings(api, workspace, "page_slow")
            assert slow["message"].startswith("the checkout page took 1.0 s")

            httpx.delete(f"{sandbox.control}/faults").raise_for_status()
            sandbox.inject("checkout_500", "shop")
            for _ in range(2):
                assert _run(api, workspace, "checkout")["last"]["status"] == 500
            assert _run(api, workspace, "home")["last"]["ok"] is True
            (failing,) = _warnings(api, workspace, "page_failing")
            assert failing["evidence"]["check"] == "checkout"
            assert failing["message"].endswith("checkout page answered 500")
    finally:
        stop(sandbox.process)
