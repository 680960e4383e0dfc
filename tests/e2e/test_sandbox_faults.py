"""Each fault injected into the sandbox is found over real sockets: sandbox + `arbiter serve`
+ pollers + webhooks; the diagnosis names the right link, mode and party in bounded time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.config import free_port_block
from tests.e2e.conftest import Arbiter, configure_workspace, start_sandbox, stop

pytestmark = pytest.mark.e2e

SLA = {"order": 4.0, "stock": 6.0}
DEADLINE_SECONDS = 60


def _matches(suspect: dict[str, Any], where: str, modes: set[str], party: str) -> bool:
    link = suspect["link"]
    place = (
        f"system {suspect['system']}"
        if link is None
        else f"{link['flow']} {link['from']}>{link['to']}"
    )
    return place == where and suspect["mode"] in modes and suspect["responsible"] == party


@pytest.mark.parametrize(
    ("fault", "where", "modes", "party"),
    [
        (("reject", "erp"), "order oms>erp", {"rejected"}, "ERP partner"),
        (("down", "erp"), "system erp", {"down"}, "ERP partner"),
        (("lost", "erp"), "order oms>erp", {"lost"}, "ERP partner"),
        (("throttle", "erp"), "order oms>erp", {"rate_limited"}, "ERP partner"),
        (("token_expired", "shop"), "order shop>oms", {"rejected"}, "BaseLinker"),
        (("wrong_stock", "oms"), "stock oms>shop", {"mismatch"}, "BaseLinker"),
        (("stale_stock", "oms"), "stock oms>shop", {"missing"}, "BaseLinker"),
        # Booked after 10 s against a 4 s SLA: lost until it shows, then late.
        (("slow", "erp"), "order oms>erp", {"late", "lost"}, "ERP partner"),
    ],
    ids=lambda value: ":".join(value) if isinstance(value, tuple) else None,
)
def test_fault_is_diagnosed(
    arbiter: Arbiter, fault: tuple[str, str], where: str, modes: set[str], party: str
) -> None:
    workspace = "e2e-" + "-".join(fault).replace("_", "-")
    base = free_port_block()
    token, secret = configure_workspace(arbiter, workspace, base, SLA)
    sandbox = start_sandbox(arbiter, workspace, token, secret, base_port=base)
    try:
        sandbox.inject(*fault, **({"delay_seconds": 10} if fault[0] == "slow" else {}))
        deadline = time.monotonic() + DEADLINE_SECONDS
        suspects: list[dict[str, Any]] = []
        with arbiter.api() as api:
            while time.monotonic() < deadline:
                answer = api.get(
                    f"/workspaces/{workspace}/diagnosis", params={"window_seconds": 600}
                )
                assert answer.status_code == 200, answer.text
                suspects = answer.json()["suspects"]
                if suspects and _matches(suspects[0], where, modes, party):
                    break
                time.sleep(1)
            else:
                pytest.fail(f"{fault}: expected {where} {modes} {party} first; got {suspects[:3]}")
            # Blocked hops are never blamed: nothing downstream of the failed link is a suspect.
            assert all(s["affected"] > 0 for s in suspects)
    finally:
        stop(sandbox.process)


def test_connection_test_reports_what_works(arbiter: Arbiter) -> None:
    workspace = "e2e-connection-test"
    base = free_port_block()
    token, secret = configure_workspace(arbiter, workspace, base, SLA)
    sandbox = start_sandbox(arbiter, workspace, token, secret, base_port=base)
    try:
        with arbiter.api() as api:
            for system in ("shop", "oms", "erp"):
                answer = api.post(f"/workspaces/{workspace}/systems/{system}/connection/test")
                assert answer.status_code == 200, answer.text
                assert answer.json()["ok"] is True, answer.json()
            sandbox.inject("token_expired", "erp")
            broken = api.post(f"/workspaces/{workspace}/systems/erp/connection/test").json()
            assert broken["ok"] is False
            assert any(not check["ok"] for check in broken["checks"])
            # Secrets never come back, not even in the checks' details.
            assert "sandbox-odoo-password" not in str(broken)
    finally:
        stop(sandbox.process)
