"""Starting and stopping a sandbox: five HTTP servers on loopback and the background tasks
(integrations, traffic, reporter, webhooks) on one event loop.

>>> # async with Sandbox(SandboxConfig(base_port=0)) as sandbox: sandbox.world.ports
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Coroutine, Generator
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from sandbox.baselinker import create_baselinker_app
from sandbox.config import SandboxConfig
from sandbox.control import create_control_app
from sandbox.integrations import OmsIntegrations
from sandbox.magento import create_magento_app
from sandbox.odoo import create_odoo_app
from sandbox.requests import RecordRequests
from sandbox.seen import SeenReporter
from sandbox.storefront import Storefront
from sandbox.traffic import orders, payments, stock
from sandbox.woo import create_woo_app
from sandbox.woo_format import resource_json
from sandbox.woo_webhooks import WooWebhooks
from sandbox.world import World

log = logging.getLogger("sandbox")

SERVERS = ("shop", "magento", "oms", "erp", "control")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to whoever runs the sandbox (five servers share
    one process; each capturing SIGINT would fight over the handlers)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        if config.host not in LOOPBACK and not config.host.startswith("127."):
            raise ValueError(f"host: the sandbox listens on loopback only, not {config.host!r}")
        self.config = config
        self.world = World.create(config)
        self._servers: list[tuple[_Server, asyncio.Task[None], socket.socket]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self.storefront = Storefront(self.world.faults, config.host)

    def apps(self) -> dict[str, FastAPI]:
        world = self.world
        systems = {
            "shop": create_woo_app(world),
            "magento": create_magento_app(world),
            "oms": create_baselinker_app(world),
            "erp": create_odoo_app(world),
        }
        for name, app in systems.items():
            app.add_middleware(RecordRequests, log=world.requests, system=name)
        return {**systems, "control": create_control_app(world)}

    async def start(self) -> None:
        config, world = self.config, self.world
        sockets: dict[str, socket.socket] = {}
        for index, name in enumerate(SERVERS):
            family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((config.host, config.port_for(index)))
            except OSError as exc:
                sock.close()
                for other in sockets.values():
                    other.close()
                raise OSError(
                    exc.errno,
                    f"{name} port {config.port_for(index)} on {config.host}: {exc.strerror}",
                ) from exc
            sockets[name] = sock
            world.ports[name] = int(sock.getsockname()[1])
        if config.webhook_url and config.webhook_secret:
            world.webhooks = WooWebhooks(
                delivery_url=config.webhook_url,
                secret=config.webhook_secret,
                source=lambda: world.url("shop"),
                render=lambda resource: resource_json(resource, world.url("shop")),
                max_failures=config.webhook_max_failures,
            )
            world.shop.listeners.append(world.webhooks.on_change)
        for name, app in self.apps().items():
            server = _Server(
                uvicorn.Config(
                    app,
                    lifespan="off",
                    ws="none",
                    log_level=config.log_level,
                    access_log=False,
                    timeout_graceful_shutdown=1,
                )
            )
            task = asyncio.create_task(
                server.serve(sockets=[sockets[name]]), name=f"sandbox-{name}"
            )
            self._servers.append((server, task, sockets[name]))
        await self._wait_started()
        await self.storefront.start()
        world.ports.update(self.storefront.ports)
        self._client = httpx.AsyncClient(timeout=config.request_timeout_seconds)
        integrations = OmsIntegrations(world, self._client)
        self._spawn("reporter", world.reporter.run())
        for name, step in integrations.tasks().items():
            self._spawn(name, integrations.loop(name, step))
        self._spawn("traffic-orders", orders(world))
        self._spawn("traffic-payments", payments(world))
        self._spawn("traffic-stock", stock(world))
        if config.report_seen:
            self._spawn("seen", SeenReporter(world).run())
        if world.webhooks is not None:
            self._spawn("webhook-ping", world.webhooks.ping())
            self._spawn("webhooks", world.webhooks.run())

    def _spawn(self, name: str, coroutine: Coroutine[Any, Any, None]) -> None:
        self._tasks.append(asyncio.create_task(coroutine, name=f"sandbox-{name}"))

    async def _wait_started(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while not all(server.started for server, _, _ in self._servers):
            for _, task, _ in self._servers:
                if task.done():
                    await self.stop()
                    raise RuntimeError(f"a sandbox server did not start: {task.exception()!r}")
            if loop.time() > deadline:
                await self.stop()
                raise RuntimeError("the sandbox servers did not start within 10 s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.world.reporter.flush(), timeout=3.0)
        await self.storefront.stop()
        for server, _, _ in self._servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task, _ in self._servers), return_exceptions=True)
        for _, _, sock in self._servers:
            sock.close()
        self._servers.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def banner(self) -> str:
        world, config = self.world, self.config
        lines = [
            f"Arbiter sandbox (run {world.run_id}) on {config.host}",
            f"  shop     WooCommerce  {world.url('shop')}/wp-json/wc/v3   basic auth "
            f"{config.woo.consumer_key} / {config.woo.consumer_secret}",
            f"  magento  Magento 2    {world.url('magento')}/rest/{config.magento.store_code}/V1   "
            f"bearer {config.magento.token}",
            f"  oms      BaseLinker   {world.url('oms')}/connector.php   "
            f"X-BLToken {config.baselinker.token}"
            f"   inventory {config.baselinker.inventory_id}",
            f"  erp      Odoo         {world.url('erp')}/jsonrpc   db {config.odoo.db} login "
            f"{config.odoo.login} password {config.odoo.password}",
            f"                        {world.url('erp')}/json/2   bearer {config.odoo.api_key}",
            f"  control  {world.url('control')}   (GET /state, POST /faults, POST /orders)",
            "  reporting to "
            + (
                f"{world.reporter.endpoint}"
                if world.reporter.endpoint
                else "nobody (no Arbiter URL)"
            ),
        ]
        if world.webhooks is not None:
            lines.append(f"  webhooks to {config.webhook_url}")
        return "\n".join(lines)


async def serve(config: SandboxConfig) -> None:
    """Run the sandbox until cancelled, printing its ports and credentials once it listens."""
    async with Sandbox(config) as sandbox:
        print(sandbox.banner(), flush=True)
        await asyncio.Event().wait()


def run(config: SandboxConfig) -> None:
    """Blocking entry point (``arbiter sandbox``, ``python -m sandbox``) until Ctrl+C or SIGTERM."""
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )

    async def main() -> None:
        task = asyncio.create_task(serve(config))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except OSError as exc:  # a port in use, most often: say which, not a traceback
        raise SystemExit(f"sandbox: {exc}") from exc
