"""Fixtures of the telemetry tests: Arbiter served on loopback, a tiny OTLP/HTTP receiver."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.conftest import ADMIN_TOKEN
from tests.servers import serve_in_thread


@dataclass
class Receiver:
    """An OTLP/HTTP traces endpoint that keeps every request it is sent."""

    url: str = ""
    requests: list[ExportTraceServiceRequest] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def spans(self) -> list[tuple[dict[str, Any], Span]]:
        """Every span received, with its resource's attributes."""
        with self.lock:
            requests = list(self.requests)
        found: list[tuple[dict[str, Any], Span]] = []
        for request in requests:
            for resource_spans in request.resource_spans:
                resource = {
                    kv.key: kv.value.string_value for kv in resource_spans.resource.attributes
                }
                for scope_spans in resource_spans.scope_spans:
                    found.extend((resource, span) for span in scope_spans.spans)
        return found

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the receiver did not get what was expected in time")
            time.sleep(0.05)


@pytest.fixture
def otlp_receiver() -> Iterator[Receiver]:
    kept = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if kept.status == 200 and self.path == "/v1/traces":
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with kept.lock:
                    kept.requests.append(request)
                    kept.headers.append({k.lower(): v for k, v in self.headers.items()})
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
            else:
                answer = b""
                self.send_response(kept.status if kept.status != 200 else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    kept.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield kept
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class Served:
    url: str
    token: str
    """A workspace token of ``acme``."""

    def events(self, ws: str = "acme") -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.url}/api/v1/workspaces/{ws}/events",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            params={"limit": 1000},
        )
        response.raise_for_status()
        events: list[dict[str, Any]] = response.json()["events"]
        return events


def prepare_workspace(client: TestClient | httpx.Client, ws: str = "acme") -> str:
    """Create ``ws`` with the CONTRACT.md topology; returns a workspace token of it."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert client.put(f"/api/v1/workspaces/{ws}", json={}, headers=admin).status_code in (200, 201)
    put = client.put(f"/api/v1/workspaces/{ws}/topology", json=CONTRACT_TOPOLOGY, headers=admin)
    assert put.status_code == 200, put.text
    token = client.post(f"/api/v1/workspaces/{ws}/tokens", json={}, headers=admin)
    assert token.status_code == 201, token.text
    secret: str = token.json()["token"]
    return secret


@pytest.fixture
def served(settings_factory: Callable[..., Settings]) -> Iterator[Served]:
    """Arbiter on a loopback port, with workspace ``acme`` (CONTRACT.md topology)."""
    app = create_app(settings_factory())
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as client:
        token = prepare_workspace(client)
        yield Served(url, token)


@pytest.fixture
def workspace_token(client: TestClient) -> str:
    """Workspace ``acme`` (CONTRACT.md topology) in the ``client`` service; its token."""
    return prepare_workspace(client)
