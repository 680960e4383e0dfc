"""Write-only credentials stay write-only, and the connection test obeys the egress policy."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.conftest import ADMIN_TOKEN

URL = "/api/v1/workspaces/acme/systems/shop/connection"
WOO = {
    "base_url": "https://shop.example.com/wp",
    "credentials": {"consumer_key": "ck_live_123", "consumer_secret": "cs_live_456"},
}
MASKED = {"consumer_key": "********", "consumer_secret": "********"}


@pytest.mark.parametrize(
    "moved",
    [
        "https://evil.example.com/wp",
        "http://shop.example.com/wp",
        "https://shop.example.com:8443/wp",
    ],
)
def test_moving_base_url_needs_the_secrets_again(
    client: TestClient, workspace: str, moved: str
) -> None:
    assert client.put(URL, json=WOO).status_code == 201
    refused = client.put(URL, json={"base_url": moved, "credentials": MASKED})
    assert refused.status_code == 422, refused.text
    locs = [item["loc"] for item in refused.json()["detail"]]
    assert ["body", "credentials", "consumer_key"] in locs
    assert client.get(URL).json()["base_url"] == "https://shop.example.com/wp"
    # Typed again, the move is accepted.
    assert client.put(URL, json={**WOO, "base_url": moved}).status_code == 200


def test_same_origin_keeps_the_masked_secrets(client: TestClient, workspace: str) -> None:
    assert client.put(URL, json=WOO).status_code == 201
    kept = client.put(
        URL, json={"base_url": "https://SHOP.example.com:443/v2", "credentials": MASKED}
    )
    assert kept.status_code == 200, kept.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/#",
        "https://shop.example.com/wp#x",
        "https://user:pw@shop.example.com",
        "https://@shop.example.com",
        "https://shop.example.com:99999",
        "https://shop.example.com:x",
    ],
)
def test_base_url_without_fragment_userinfo_or_bad_port(
    client: TestClient, workspace: str, url: str
) -> None:
    response = client.put(URL, json={**WOO, "base_url": url})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "base_url"]


class _Listener(http.server.BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        _Listener.seen.append(self.headers.get("Authorization", ""))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"[]")

    def log_message(self, *_args: object) -> None:
        return None


@pytest.fixture
def listener() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Listener)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Listener.seen = []
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_public_egress_refuses_loopback_in_connection_tests(
    settings_factory: Callable[..., Settings], listener: int
) -> None:
    app = create_app(settings_factory(egress="public"))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        assert client.put("/api/v1/workspaces/acme", json={"name": "A"}).status_code == 201
        topology = client.put("/api/v1/workspaces/acme/topology", json=CONTRACT_TOPOLOGY)
        assert topology.status_code == 200
        body = {**WOO, "base_url": f"http://127.0.0.1:{listener}"}
        assert client.put(URL, json=body).status_code == 201
        tested = client.post(URL + "/test")
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is False
    assert "egress" in tested.text
    assert _Listener.seen == []
