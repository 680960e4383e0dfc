"""API tokens with a role, an owner and an expiry; the token API stays backwards compatible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, update

from app.auth.tables import token_grants
from app.runtime import Runtime
from tests.app.accounts.conftest import person
from tests.app.dashboard.conftest import WORKSPACE, admin_api, fault_topology, submit
from tests.app.dashboard.incident_fixtures import Opened

BASE = f"/api/v1/workspaces/{WORKSPACE}/tokens"


def _bearer(opened: Opened, token: str) -> TestClient:
    client = TestClient(opened.client.app)
    client.headers["Authorization"] = f"Bearer {token}"
    return client


def _make(opened: Opened, **body: Any) -> dict[str, Any]:
    answer = admin_api(opened.client).post(BASE, json=body)
    assert answer.status_code == 201, answer.text
    made: dict[str, Any] = answer.json()
    return made


def test_a_token_made_as_before_is_an_operator_and_shows_its_last_use(opened: Opened) -> None:
    api = admin_api(opened.client)
    plain = api.post(BASE)
    assert plain.status_code == 201
    body = plain.json()
    assert {"id", "workspace", "name", "created_at", "token"} <= set(body)
    assert body["role"] == "operator"
    assert body["expires_at"] is None
    listed = {t["id"]: t for t in api.get(BASE).json()}
    assert listed[body["id"]]["last_used_at"] is None
    client = _bearer(opened, body["token"])
    assert (
        client.post(
            f"/api/v1/workspaces/{WORKSPACE}/incidents/{opened.incident}/acknowledge"
        ).status_code
        == 200
    )
    listed = {t["id"]: t for t in api.get(BASE).json()}
    assert listed[body["id"]]["last_used_at"] is not None


def test_a_viewer_token_reads_and_changes_nothing(opened: Opened) -> None:
    made = _make(opened, name="dashboard screen", role="viewer", integration="wall screen")
    assert made["integration"] == "wall screen"
    viewer = _bearer(opened, made["token"])
    assert viewer.get(f"/api/v1/workspaces/{WORKSPACE}/incidents").status_code == 200
    ack = viewer.post(f"/api/v1/workspaces/{WORKSPACE}/incidents/{opened.incident}/acknowledge")
    assert ack.status_code == 403
    assert "viewer" in ack.text
    topology = viewer.put(f"/api/v1/workspaces/{WORKSPACE}/topology", json=fault_topology())
    assert topology.status_code == 403
    assert viewer.delete(f"{BASE}/{made['id']}").status_code == 403
    assert opened.api_incident()["acknowledged_at"] is None


def test_an_expired_token_is_refused(opened: Opened) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    made = _make(opened, expires_at=soon)
    client = _bearer(opened, made["token"])
    assert client.get(f"/api/v1/workspaces/{WORKSPACE}/incidents").status_code == 200
    runtime: Runtime = opened.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection:
        connection.execute(
            update(token_grants)
            .where(token_grants.c.token_id == made["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get(f"/api/v1/workspaces/{WORKSPACE}/incidents").status_code == 401


def test_a_persons_token_follows_the_person(opened: Opened) -> None:
    api = admin_api(opened.client)
    owner = person(opened.client.app, "own@shop.example", "owner")
    person(opened.client.app, "ann@shop.example", "viewer")
    stranger = api.post(BASE, json={"person": "nobody@shop.example"})
    assert stranger.status_code == 422
    assert "person" in stranger.text
    too_much = api.post(BASE, json={"person": "ann@shop.example", "role": "operator"})
    assert too_much.status_code == 422
    assert "role" in too_much.text
    both = api.post(BASE, json={"person": "ann@shop.example", "integration": "x", "role": "viewer"})
    assert both.status_code == 422
    past = api.post(BASE, json={"expires_at": "2020-01-01T00:00:00Z"})
    assert past.status_code == 422
    assert "expires_at" in past.text
    made = _make(opened, person="Ann@shop.example", role="viewer")
    assert made["person"] == "ann@shop.example"
    client = _bearer(opened, made["token"])
    assert client.get(f"/api/v1/workspaces/{WORKSPACE}/incidents").status_code == 200

    members = api.get(f"/api/v1/workspaces/{WORKSPACE}/members").json()
    ann = next(m for m in members if m["email"] == "ann@shop.example")
    page = owner.get(f"/w/{WORKSPACE}/people")
    removed = submit(owner, page, f"/w/{WORKSPACE}/people/{ann['account']}", role="remove")
    assert removed.status_code == 303
    assert client.get(f"/api/v1/workspaces/{WORKSPACE}/incidents").status_code == 401


def test_a_token_without_a_grant_keeps_the_rights_tokens_always_had(opened: Opened) -> None:
    made = _make(opened, role="viewer")
    runtime: Runtime = opened.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection:
        connection.execute(delete(token_grants).where(token_grants.c.token_id == made["id"]))
    client = _bearer(opened, made["token"])
    ack = client.post(f"/api/v1/workspaces/{WORKSPACE}/incidents/{opened.incident}/acknowledge")
    assert ack.status_code == 200
    listed = {t["id"]: t for t in admin_api(opened.client).get(BASE).json()}
    assert listed[made["id"]]["role"] == "operator"
