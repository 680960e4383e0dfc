"""The pollers read a connection (and open its secrets) when it is due or changed, never on
every tick of their loop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from app.connections import poller
from app.connections.service import Target
from app.main import create_app
from app.settings import Settings
from connectors.base import Connector, PollResult
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import STANDARD_TOPOLOGY_JSON


class _Counting:
    """A connector that returns no events and a cursor counting its polls."""

    kind = "woocommerce"

    def __init__(self) -> None:
        self.cursors: list[dict[str, Any] | None] = []

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        self.cursors.append(cursor)
        return PollResult(events=[], cursor={"polls": len(self.cursors)})


def test_connections_are_read_when_due_or_changed_not_every_tick(
    settings_factory: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    connector = _Counting()

    def connector_for(_target: Target, _client: httpx.AsyncClient) -> Connector:
        return connector  # type: ignore[return-value]

    monkeypatch.setattr(poller, "TICK_SECONDS", 0.01)
    monkeypatch.setattr(poller, "connector_for", connector_for)
    app = create_app(settings_factory(background=False))
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with TestClient(app, headers=headers) as client:
        client.put("/api/v1/workspaces/acme", json={}).raise_for_status()
        topology = "/api/v1/workspaces/acme/topology"
        client.put(topology, json=STANDARD_TOPOLOGY_JSON).raise_for_status()
        url = "/api/v1/workspaces/acme/systems/shop/connection"
        credentials = {"consumer_key": "ck_1", "consumer_secret": "cs_1"}
        body = {
            "base_url": "https://shop.example.com",
            "credentials": credentials,
            "poll_interval_seconds": 1,
        }
        client.put(url, json=body).raise_for_status()
        # The shop leaves the topology: its connection stays, and is not polled.
        without_shop = {
            "systems": [s for s in STANDARD_TOPOLOGY_JSON["systems"] if s["id"] != "shop"],
            "links": [
                link
                for link in STANDARD_TOPOLOGY_JSON["links"]
                if "shop" not in (link["from"], link["to"])
            ],
        }
        client.put(topology, json=without_shop).raise_for_status()
        runtime = app.state.runtime
        opened = [0]
        open_secret = runtime.secrets.open

        def counting_open(sealed: str) -> Any:
            opened[0] += 1
            return open_secret(sealed)

        monkeypatch.setattr(runtime.secrets, "open", counting_open)
        assert client.portal is not None
        loop = client.portal.start_task_soon(poller._loop, runtime)
        try:
            time.sleep(0.5)  # about 50 ticks
            assert (connector.cursors, opened[0]) == ([], 0), "not polled, no secret opened"
            # The shop is back (a change): read again, and polled.
            client.put(topology, json=STANDARD_TOPOLOGY_JSON).raise_for_status()
            deadline = time.monotonic() + 10
            while len(connector.cursors) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            loop.cancel()
    assert connector.cursors[:3] == [None, {"polls": 1}, {"polls": 2}], "each poll's cursor read"
    assert opened[0] <= len(connector.cursors) + 1, "read when due, not on each tick"
