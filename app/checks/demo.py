"""The demo's storefront checks: the sandbox storefront's pages, certificate and mail server.

Its ports are chosen by the system when the sandbox starts, so they are read from the
sandbox's ``/state`` once it answers.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from app.checks.models import CheckIn
from app.checks.service import put_check
from app.runtime import Runtime

log = logging.getLogger("arbiter.demo")


def demo_checks(ports: dict[str, int]) -> dict[str, CheckIn]:
    page = f"http://127.0.0.1:{ports['storefront']}"
    common = {"target": "shop", "interval_seconds": 60.0}
    return {
        "home": CheckIn(
            kind="http", url=f"{page}/", page="home", expect_text="Sandbox Shop", **common
        ),
        "checkout": CheckIn(
            kind="http", url=f"{page}/checkout", page="checkout", expect_text="Place order",
            slow_factor=3.0, **common,
        ),
        "certificate": CheckIn(
            kind="tls", host="localhost", port=ports["storefront_tls"], verify_tls=False, **common
        ),
        "mail": CheckIn(kind="smtp", host="localhost", port=ports["storefront_mail"], **common),
    }  # fmt: skip


async def configure_demo_checks(runtime: Runtime, workspace_id: str, control_port: int) -> None:
    """Once the sandbox answers, point the demo workspace's checks at its storefront."""
    async with httpx.AsyncClient(timeout=5) as client:
        for _attempt in range(120):
            try:
                state = (await client.get(f"http://127.0.0.1:{control_port}/state")).json()
                ports = {k: int(v) for k, v in state["ports"].items()}
                checks = demo_checks(ports)
            except (httpx.TransportError, ValueError, KeyError):
                await asyncio.sleep(0.5)
                continue
            await asyncio.to_thread(_store, runtime, workspace_id, checks)
            return
    log.warning("the sandbox never answered: no storefront checks in the demo")


def _store(runtime: Runtime, workspace_id: str, checks: dict[str, CheckIn]) -> None:
    with runtime.engine.begin() as connection:
        for check_id, check in checks.items():
            put_check(connection, workspace_id, check_id, check)
