"""Tokens mint no tokens, /metrics names nothing to strangers, and guessing tokens is slow."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.app.dashboard.conftest import submit
from tests.conftest import ADMIN_TOKEN

ANON = {"Authorization": ""}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(client: TestClient, ws: str) -> str:
    created = client.post(f"/api/v1/workspaces/{ws}/tokens", json={"name": "t"})
    assert created.status_code == 201
    token: str = created.json()["token"]
    return token


def test_a_workspace_token_cannot_mint_tokens(client: TestClient, workspace: str) -> None:
    token = _token(client, workspace)
    minted = client.post(
        f"/api/v1/workspaces/{workspace}/tokens", json={"name": "x"}, headers=bearer(token)
    )
    assert minted.status_code == 403
    listed = client.get(f"/api/v1/workspaces/{workspace}/tokens").json()
    assert [t["name"] for t in listed] == ["t"]
    # It may still list its workspace's tokens and revoke them.
    assert client.get(f"/api/v1/workspaces/{workspace}/tokens", headers=bearer(token)).is_success


def test_metrics_need_the_admin_token(client: TestClient, workspace: str) -> None:
    assert client.get("/metrics", headers=ANON).status_code == 401
    token = _token(client, workspace)
    assert client.get("/metrics", headers=bearer(token)).status_code == 403
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert "arbiter_http_requests" in scraped.text


def test_metrics_public_when_the_operator_says_so(
    settings_factory: Callable[..., Settings],
) -> None:
    with TestClient(create_app(settings_factory(metrics_public=True))) as client:
        assert client.get("/metrics").status_code == 200


def test_failed_bearer_tokens_are_throttled_per_address(
    settings_factory: Callable[..., Settings],
) -> None:
    app = create_app(settings_factory(auth_failures_per_minute=5))
    with TestClient(app, headers=bearer(ADMIN_TOKEN)) as client:
        assert client.put("/api/v1/workspaces/acme", json={}).status_code == 201
        route = "/api/v1/workspaces/acme"
        statuses = [client.get(route, headers=bearer(f"wrong-{i}")).status_code for i in range(5)]
        assert statuses == [401] * 5
        throttled = client.get(route, headers=bearer("wrong-6"))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 60
        # While throttled even the right token waits: a lucky guess is no better.
        assert client.get(route).status_code == 429
        otlp = client.post(
            "/v1/traces",
            content=b"{}",
            headers={**bearer("wrong"), "content-type": "application/json"},
        )
        assert otlp.status_code == 429
        assert "retry-after" in otlp.headers
    # Another address is not affected: failures are counted per client address.
    with TestClient(app, headers=bearer(ADMIN_TOKEN), client=("10.9.9.9", 1234)) as other:
        assert other.get(route).status_code == 200


def test_failed_sign_ins_are_throttled(settings_factory: Callable[..., Settings]) -> None:
    app = create_app(settings_factory(auth_failures_per_minute=3, demo=False))
    with TestClient(app, follow_redirects=False) as client:
        statuses = []
        for attempt in range(4):
            form = client.get("/signin")
            answer = submit(client, form, "/signin", token=f"wrong-{attempt}")
            statuses.append(answer.status_code)
        assert statuses == [401, 401, 401, 429]
        assert "retry-after" in answer.headers


def test_a_workspace_topology_still_loads_with_the_right_token(
    client: TestClient, workspace: str
) -> None:
    # A few failures under the limit change nothing for the right token.
    for _ in range(3):
        assert client.get("/api/v1/workspaces/acme", headers=bearer("nope")).status_code == 401
    assert client.get("/api/v1/workspaces/acme/topology").json() == CONTRACT_TOPOLOGY
