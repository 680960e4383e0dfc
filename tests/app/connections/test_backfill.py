"""``arbiter backfill``: a connection's last N days read once, resumable, within rate limits."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.connections.backfill import backfill
from app.connections.service import save_poll
from app.connections.tables import connections
from tests.connectors.conftest import FakeWoo

URL = "/api/v1/workspaces/acme/systems/shop/connection"
WOO = {
    "base_url": "https://shop.example.com",
    "credentials": {"consumer_key": "ck_live_123", "consumer_secret": "cs_live_456"},
    "poll_interval_seconds": 30,
}


def _recent(woo: FakeWoo) -> None:
    """The fixture orders, moved into the last days (backfill reads from now - N days)."""
    start = datetime.now(UTC) - timedelta(days=3)
    for index, order in enumerate(woo.orders):
        moment = (start + timedelta(hours=index)).strftime("%Y-%m-%dT%H:%M:%S")
        order.update(date_modified_gmt=moment, date_modified=moment)


def _status(client: TestClient) -> dict[str, Any]:
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        raw = connection.execute(select(connections.c.status)).scalar()
    return json.loads(raw) if raw else {}


def test_backfill_reads_the_period_through_throttling_and_resumes(
    client: TestClient, workspace: str
) -> None:
    assert client.put(URL, json=WOO).status_code == 201
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    woo = FakeWoo()
    _recent(woo)
    throttled = [True]

    def answer(request: httpx.Request) -> httpx.Response:
        if throttled[0]:
            throttled[0] = False
            return httpx.Response(429, headers={"Retry-After": "900"})
        return woo.handle(request)

    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    shares: list[float] = []

    async def run(days: float) -> Any:
        async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as http:
            return await backfill(
                runtime,
                workspace,
                "shop",
                days=days,
                progress=lambda share, _n: shares.append(share),
                sleep=sleep,
                client=http,
            )

    done = asyncio.run(run(7))

    assert slept == [300.0]  # asked for 900 s: waited the longest wait, then went on
    assert done.resumed is False
    assert shares[-1] == 1.0
    orders = client.get("/api/v1/workspaces/acme/traces/shop/100041")
    assert orders.status_code == 200, orders.text
    state = _status(client)["backfill"]
    assert state["done"] is True
    assert state["days"] == 7
    with runtime.engine.connect() as connection:  # the regular poller's cursor is not moved
        assert connection.execute(select(connections.c.cursor)).scalar() is None

    # An interrupted backfill (its state saved, not done) resumes from its own cursor.
    since = woo.orders[2]["date_modified_gmt"] + "Z"
    engine = runtime.engine
    with engine.begin() as connection:
        save_poll(
            connection,
            workspace,
            "shop",
            cursor=None,
            status={
                "backfill": {
                    "days": 7,
                    "from": state["from"],
                    "cursor": {"orders": {"since": since, "edge": [str(woo.orders[2]["id"])]}},
                    "done": False,
                }
            },
        )
    woo.requests.clear()
    again = asyncio.run(run(7))
    assert again.resumed is True
    first = next(r for r in woo.requests if r.url.path.endswith("/orders"))
    assert first.url.params["modified_after"] < since
    assert first.url.params["modified_after"] > state["from"][:19]
