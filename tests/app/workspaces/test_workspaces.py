from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.scenarios import CONTRACT_EVENTS


def test_put_creates_then_keeps(client: TestClient) -> None:
    created = client.put("/api/v1/workspaces/acme", json={"name": "ACME shop"})
    assert created.status_code == 201
    assert created.json()["name"] == "ACME shop"
    kept = client.put("/api/v1/workspaces/acme")
    assert kept.status_code == 200
    assert kept.json()["name"] == "ACME shop"
    renamed = client.put("/api/v1/workspaces/acme", json={"name": "ACME"})
    assert renamed.status_code == 200
    assert client.get("/api/v1/workspaces/acme").json()["name"] == "ACME"


@pytest.mark.parametrize("bad", ["ACME", "-acme", "a_b", "a" * 64, "acme.shop", "ąćme"])
def test_invalid_workspace_name_is_422(client: TestClient, bad: str) -> None:
    response = client.put(f"/api/v1/workspaces/{bad}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "ws"]


def test_longest_valid_name(client: TestClient) -> None:
    assert client.put("/api/v1/workspaces/" + "a" * 63).status_code == 201


def test_delete_removes_everything(client: TestClient, workspace: str) -> None:
    assert (
        client.post(
            f"/api/v1/workspaces/{workspace}/events", json={"events": CONTRACT_EVENTS}
        ).status_code
        == 202
    )
    assert client.delete(f"/api/v1/workspaces/{workspace}").status_code == 204
    assert client.get(f"/api/v1/workspaces/{workspace}").status_code == 404
    assert client.get(f"/api/v1/workspaces/{workspace}/events").status_code == 404
    assert client.delete(f"/api/v1/workspaces/{workspace}").status_code == 404
    # Recreated under the same name, it starts empty: the old events are gone.
    client.put(f"/api/v1/workspaces/{workspace}")
    client.put(f"/api/v1/workspaces/{workspace}/topology", json=CONTRACT_TOPOLOGY)
    assert client.get(f"/api/v1/workspaces/{workspace}/events").json()["events"] == []
    again = client.post(f"/api/v1/workspaces/{workspace}/events", json={"events": CONTRACT_EVENTS})
    assert again.json() == {"accepted": 3, "duplicates": 0}


def test_unknown_workspace_is_404(client: TestClient) -> None:
    assert client.get("/api/v1/workspaces/nope").status_code == 404
    assert client.get("/api/v1/workspaces/nope/topology").status_code == 404
    assert (
        client.post("/api/v1/workspaces/nope/events", json={"events": CONTRACT_EVENTS}).status_code
        == 404
    )


def test_body_must_be_an_object_with_known_fields(client: TestClient) -> None:
    response = client.put("/api/v1/workspaces/acme", json={"nmae": "typo"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "nmae"
