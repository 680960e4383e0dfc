"""The sandbox demo: with nothing configured, `arbiter serve` starts the sandbox (a separate
program speaking the vendors' wire formats), points a `demo` workspace at it, and injects one
fault, so a new user sees Arbiter find a failed link within minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import Connection

from app.auth.service import create_token
from app.checks.demo import configure_demo_checks
from app.connections.models import ConnectionIn
from app.connections.service import put_connection
from app.db.engine import make_engine, migrate
from app.runtime import Runtime
from app.settings import Settings
from app.status.service import enable_demo_page
from app.topology.service import put_topology
from app.workspaces.service import list_workspaces, put_workspace
from graph.model import Topology
from sandbox.config import BaseLinkerCredentials, OdooCredentials, WooCredentials
from sandbox.topology import demo_topology

log = logging.getLogger("arbiter.demo")

WORKSPACE = "demo"


DEMO_DEFAULTS = {
    # The sandbox's systems share one clock: failures show soon after their SLA.
    "clock_skew_seconds": 10.0,
    # A new user should see an incident open and resolve within minutes, not an hour.
    "incident_min_duration_seconds": 60.0,
    "incident_resolve_after_seconds": 120.0,
}
"""Defaults of the sandbox demo, for the settings the environment does not set."""


def decide(settings: Settings) -> Settings:
    """``settings`` with demo mode decided (``demo`` True or False) and, when on, the demo's
    defaults where the environment is silent.

    On when asked, or by default when nothing is configured: SQLite, and no workspace of one's
    own in the store. The CLI decides before it starts the runtime, which only reads the answer.
    """
    on = settings.demo.enabled
    if on is None:
        on = settings.store.database_url is None and _only_demo_workspaces(settings)
    update: dict[str, Any] = {"demo": on}
    if on:
        update |= {k: v for k, v in DEMO_DEFAULTS.items() if k not in settings.given}
    return settings.replace(**update)


def _only_demo_workspaces(settings: Settings) -> bool:
    engine = make_engine(settings.store.resolved_database_url)
    try:
        migrate(engine)  # a first start: the store is made here, as the runtime would
        with engine.connect() as connection:
            return all(w.id == WORKSPACE for w in list_workspaces(connection))
    finally:
        engine.dispose()


def sandbox_connections(
    base_port: int, *, webhook_secret: str, poll_interval_seconds: float
) -> dict[str, dict[str, Any]]:
    """The bodies of ``PUT .../systems/{system}/connection`` that point the demo topology's
    shop, OMS and ERP at a sandbox whose first port is ``base_port``."""
    woo, bl, odoo = WooCredentials(), BaseLinkerCredentials(), OdooCredentials()
    url = "http://127.0.0.1:{}".format
    return {
        "shop": {
            "base_url": url(base_port),
            "credentials": {
                "consumer_key": woo.consumer_key,
                "consumer_secret": woo.consumer_secret,
            },
            "webhook_secret": webhook_secret,
            "poll_interval_seconds": poll_interval_seconds,
        },
        "oms": {
            "base_url": url(base_port + 2),
            "credentials": {"token": bl.token, "inventory_id": str(bl.inventory_id)},
            "poll_interval_seconds": poll_interval_seconds,
        },
        "erp": {
            "base_url": url(base_port + 3),
            "credentials": {
                "protocol": "jsonrpc",
                "database": odoo.db,
                "login": odoo.login,
                "password": odoo.password,
            },
            "poll_interval_seconds": poll_interval_seconds,
        },
    }


def configure(connection: Connection, runtime: Runtime, base_port: int) -> tuple[str, str]:
    """The demo workspace against the sandbox: topology, connections, a token for its reports.

    Returns the token the sandbox reports its integrations' calls with, and the shop's webhook
    secret.
    """
    settings = runtime.settings
    put_workspace(connection, WORKSPACE, "Demo shop (sandbox)")
    topology = Topology.model_validate(demo_topology(sla_seconds=settings.demo.sla_seconds))
    put_topology(connection, WORKSPACE, topology)
    webhook_secret = secrets.token_urlsafe(24)
    bodies = sandbox_connections(
        base_port,
        webhook_secret=webhook_secret,
        poll_interval_seconds=settings.demo.poll_interval_seconds,
    )
    for system, body in bodies.items():
        put_connection(
            connection, runtime.secrets, WORKSPACE, system, ConnectionIn.model_validate(body)
        )
    _info, token = create_token(connection, WORKSPACE, "sandbox integrations")
    enable_demo_page(connection, WORKSPACE)
    return token, webhook_secret


@asynccontextmanager
async def demo(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: the sandbox subprocess and the demo workspace, when enabled."""
    if not runtime.demo:
        yield
        return
    settings = runtime.settings
    base_port = settings.demo.sandbox_port
    arbiter_url = f"http://127.0.0.1:{settings.port}"

    def setup() -> tuple[str, str]:
        with runtime.engine.begin() as connection:
            return configure(connection, runtime, base_port)

    token, webhook_secret = await asyncio.to_thread(setup)
    command = [
        sys.executable,
        "-m",
        "sandbox",
        "--base-port",
        str(base_port),
        "--arbiter-url",
        arbiter_url,
        "--workspace",
        WORKSPACE,
        "--webhook-url",
        f"{arbiter_url}/webhooks/{WORKSPACE}/shop",
    ]
    env = dict(os.environ, SANDBOX_ARBITER_TOKEN=token, SANDBOX_WEBHOOK_SECRET=webhook_secret)
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)  # noqa: S603
    # The user started the demo and should see where it is.
    print(
        f"Demo: sandbox on 127.0.0.1:{base_port}-{base_port + 4} "
        f"(fault control API: http://127.0.0.1:{base_port + 4}/faults); "
        f"workspace '{WORKSPACE}' at {arbiter_url}/",
        flush=True,
    )
    fault = asyncio.create_task(_inject_fault(base_port + 4, settings.demo.fault))
    checks = asyncio.create_task(configure_demo_checks(runtime, WORKSPACE, base_port + 4))
    try:
        yield
    finally:
        for task in (fault, checks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()


async def _inject_fault(control_port: int, fault: str) -> None:
    """The demo's one fault, so there is something to find: set once the sandbox answers."""
    if fault in ("", "none"):
        return
    kind, _, target = fault.partition(":")
    spec = {"kind": kind, "target": target or "erp", "ratio": 0.3 if kind == "reject" else 1.0}
    async with httpx.AsyncClient(timeout=5) as client:
        for _attempt in range(120):
            try:
                answer = await client.post(f"http://127.0.0.1:{control_port}/faults", json=spec)
            except httpx.TransportError:
                await asyncio.sleep(0.5)
                continue
            if answer.is_success:
                log.info("demo fault injected: %s", spec)
            else:
                log.warning("demo fault refused by the sandbox: %s", answer.text)
            return
    log.warning("the sandbox never answered: no demo fault injected")
