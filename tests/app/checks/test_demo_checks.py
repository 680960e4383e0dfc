"""The demo's checks, pointed at a sandbox storefront, all pass while nothing is wrong."""

from __future__ import annotations

import httpx
import pytest

from app.checks.demo import demo_checks
from app.checks.probes import run_probe
from sandbox.storefront import Storefront
from tests.app.checks.test_probes import _loopback, storefront

__all__ = ["storefront"]


@pytest.mark.asyncio
async def test_demo_checks_pass_against_the_sandbox(storefront: Storefront) -> None:
    checks = demo_checks(storefront.ports)
    assert set(checks) == {"home", "checkout", "certificate", "mail"}
    async with httpx.AsyncClient() as client:
        for check_id, check in checks.items():
            result = await run_probe(check, client=client, mode="private", resolve=_loopback)
            assert result.ok, (check_id, result.error)
