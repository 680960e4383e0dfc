"""Doubles the sandbox tests share: a world with fixed ids, ASGI clients for each imitation, a
fake Arbiter receiving events over a real loopback socket, and a running sandbox."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI, Request
from pydantic import ValidationError
from starlette.responses import JSONResponse, Response

from graph.model import Event
from sandbox import Sandbox, SandboxConfig
from sandbox.baselinker import create_baselinker_app
from sandbox.magento import create_magento_app
from sandbox.odoo import create_odoo_app
from sandbox.woo import create_woo_app
from sandbox.woo_auth import SignedQuery
from sandbox.world import World
from tests.servers import serve_app

ARBITER_TOKEN = "arb_sandbox_test"


def quiet_config(**overrides: Any) -> SandboxConfig:
    """No traffic of its own, fixed ids: a test decides what happens."""
    values: dict[str, Any] = {
        "base_port": 0,
        "order_interval_seconds": 0,
        "stock_interval_seconds": 0,
        "integration_interval_seconds": 0.1,
        "seed": 7,
        "id_base": 1000,
        "run_id": "t",
        "reporter_flush_seconds": 0.1,
        "request_timeout_seconds": 2.0,
    }
    values.update(overrides)
    return SandboxConfig(**values)


@pytest.fixture
def world() -> World:
    w = World.create(quiet_config())
    w.ports.update({"shop": 8100, "magento": 8101, "oms": 8102, "erp": 8103, "control": 8104})
    return w


@contextlib.asynccontextmanager
async def asgi(
    app: FastAPI, base_url: str = "http://sandbox.test"
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url
    ) as client:
        yield client


@pytest_asyncio.fixture
async def woo(world: World) -> AsyncIterator[httpx.AsyncClient]:
    auth = (world.config.woo.consumer_key, world.config.woo.consumer_secret)
    async with asgi(create_woo_app(world)) as client:
        client.auth = SignedQuery(*auth)  # plain http: WooCommerce takes only OAuth 1.0a
        yield client


@pytest_asyncio.fixture
async def magento(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi(create_magento_app(world)) as client:
        client.headers["Authorization"] = f"Bearer {world.config.magento.token}"
        yield client


@pytest_asyncio.fixture
async def baselinker(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi(create_baselinker_app(world)) as client:
        client.headers["X-BLToken"] = world.config.baselinker.token
        yield client


@pytest_asyncio.fixture
async def odoo(world: World) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi(create_odoo_app(world)) as client:
        yield client


@dataclass
class FakeArbiter:
    """Arbiter's events API as CONTRACT.md states it, checking every event it is sent."""

    url: str = ""
    events: list[dict[str, Any]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    answer_status: int | None = None
    """When set, every POST is answered with this status and nothing is kept."""
    requests: int = 0
    webhooks: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    webhook_status: int = 200

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/api/v1/workspaces/{ws}/events")
        async def events(ws: str, request: Request) -> Response:
            self.requests += 1
            if request.headers.get("authorization") != f"Bearer {ARBITER_TOKEN}":
                return JSONResponse({"detail": "bad token"}, status_code=401)
            if self.answer_status is not None:
                return JSONResponse({"detail": "unavailable"}, status_code=self.answer_status)
            body = await request.json()
            problems = []
            for index, raw in enumerate(body["events"]):
                try:
                    Event.model_validate(raw)
                except ValidationError as exc:
                    problems.append(f"{index}: {exc}")
            if problems:
                self.invalid.extend(problems)
                return JSONResponse({"detail": problems}, status_code=422)
            known = {e["id"] for e in self.events}
            fresh = [e for e in body["events"] if e["id"] not in known]
            self.events.extend(fresh)
            return JSONResponse(
                {"accepted": len(fresh), "duplicates": len(body["events"]) - len(fresh)},
                status_code=202,
            )

        @app.post("/webhooks/{ws}/{system}")
        async def webhook(ws: str, system: str, request: Request) -> Response:
            self.webhooks.append((dict(request.headers), await request.body()))
            return Response(status_code=self.webhook_status)

        return app

    def calls(self, target: str | None = None, flow: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.events
            if e["kind"] == "call"
            and (target is None or e.get("target") == target)
            and (flow is None or e["flow"] == flow)
        ]


@pytest_asyncio.fixture
async def arbiter() -> AsyncIterator[FakeArbiter]:
    fake = FakeArbiter()
    async with serve_app(fake.app()) as url:
        fake.url = url
        yield fake


RunSandbox = Callable[..., contextlib.AbstractAsyncContextManager[Sandbox]]


@pytest.fixture
def run_sandbox(arbiter: FakeArbiter) -> RunSandbox:
    """Start a quiet sandbox on free loopback ports that reports to the fake Arbiter."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Sandbox]:
        values = {"arbiter_url": arbiter.url, "arbiter_token": ARBITER_TOKEN, **overrides}
        async with Sandbox(quiet_config(**values)) as sandbox:
            yield sandbox

    return start


async def eventually(check: Callable[[], Any], timeout: float = 5.0, interval: float = 0.05) -> Any:
    """Wait until ``check()`` is truthy (awaiting it when it is a coroutine); return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)
