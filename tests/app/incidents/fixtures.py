"""Fixtures of the incident, notification, warning and report tests.

``arbiter``: a fresh service on each backend with the CONTRACT.md topology in workspace
``acme``, its background evaluator off (tests evaluate with their own clock), a scenario
:class:`~tests.scenarios.World` to fill, and helpers to post its events and evaluate as of a
moment of it. ``receiver``: a tiny HTTP server on 127.0.0.1 that records what apprise posts.
The other test packages import these fixtures from here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.incidents.evaluator import EvaluationResult, evaluate_workspace, incident_state
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from graph.model import Event
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import STANDARD_TOPOLOGY_JSON, World

WS = "acme"


@dataclass
class Arbiter:
    client: TestClient
    runtime: Runtime
    world: World
    ws: str = WS
    posted: int = 0

    @property
    def base(self) -> str:
        return f"/api/v1/workspaces/{self.ws}"

    def post(self, events: Sequence[Event] | None = None) -> None:
        """Store ``events`` (default: the world's events not posted yet)."""
        if events is None:
            events, self.posted = self.world.events[self.posted :], len(self.world.events)
        for start in range(0, len(events), 5000):
            body = {"events": [e.to_json() for e in events[start : start + 5000]]}
            response = self.client.post(f"{self.base}/events", json=body)
            assert response.status_code == 202, response.text

    def evaluate(self, offset: float, *, post: bool = True) -> EvaluationResult:
        """Post what is new, then evaluate as of ``offset`` seconds into the world."""
        if post:
            self.post()
        result = evaluate_workspace(self.runtime, self.ws, self.world.time(offset))
        assert result.ok, result.error
        return result

    def drain(self) -> None:
        assert incident_state(self.runtime).dispatcher.drain(timeout=30)

    def incidents(self, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(f"{self.base}/incidents", params=params)
        assert response.status_code == 200, response.text
        found: list[dict[str, Any]] = response.json()["incidents"]
        return found

    def incident(self, incident_id: int) -> dict[str, Any]:
        response = self.client.get(f"{self.base}/incidents/{incident_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


QUIET = {
    "incident_interval_seconds": 0,
    "incident_min_affected": 2,
    "incident_min_duration_seconds": 300,
    "incident_resolve_after_seconds": 900,
    "incident_flap_window_seconds": 3600,
    "notification_retry_wait_seconds": 0.01,
    "notification_timeout_seconds": 3,
    "public_url": "https://arbiter.example",
}


@pytest.fixture
def arbiter_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Setting overrides of the ``arbiter`` fixture; parametrize it indirectly to change them."""
    return dict(getattr(request, "param", QUIET))


def with_settings(**changes: Any) -> pytest.MarkDecorator:
    """Run a test's ``arbiter`` with these settings changed from ``QUIET``."""
    return pytest.mark.parametrize("arbiter_settings", [QUIET | changes], indirect=True)


@pytest.fixture
def arbiter(
    settings_factory: Callable[..., Settings], arbiter_settings: dict[str, Any]
) -> Iterator[Arbiter]:
    app = create_app(settings_factory(**arbiter_settings))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        assert client.put(f"/api/v1/workspaces/{WS}", json={"name": "ACME"}).status_code == 201
        response = client.put(f"/api/v1/workspaces/{WS}/topology", json=STANDARD_TOPOLOGY_JSON)
        assert response.status_code == 200, response.text
        yield Arbiter(client=client, runtime=app.state.runtime, world=World())


@dataclass
class Receiver:
    """Records the JSON bodies posted to it; answers ``fail_first`` requests with 500."""

    url: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    fail_first: int = 0
    always_fail: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apprise_url(self, path: str = "hook") -> str:
        return f"json://{self.url.removeprefix('http://')}/{path}"


@pytest.fixture
def alert_receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.requests += 1
                failing = state.always_fail or state.requests <= state.fail_first
                if not failing:
                    state.messages.append(json.loads(body) | {"path": self.path})
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
