from __future__ import annotations

from fastapi.testclient import TestClient

from tests.scenarios import CONTRACT_EVENTS

ANON = {"Authorization": ""}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_missing_or_wrong_token_is_401(client: TestClient, workspace: str) -> None:
    for headers in (ANON, bearer("wrong"), {"Authorization": "Basic YTpi"}):
        response = client.get(f"/api/v1/workspaces/{workspace}/topology", headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/healthz", headers=ANON).status_code == 200


def test_workspace_token_lifecycle(client: TestClient, workspace: str) -> None:
    created = client.post(f"/api/v1/workspaces/{workspace}/tokens", json={"name": "middleware"})
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("arb_")
    listed = client.get(f"/api/v1/workspaces/{workspace}/tokens").json()
    assert [t["name"] for t in listed] == ["middleware"]
    assert "token" not in listed[0]

    own = client.post(
        f"/api/v1/workspaces/{workspace}/events",
        json={"events": CONTRACT_EVENTS},
        headers=bearer(token),
    )
    assert own.status_code == 202

    client.put("/api/v1/workspaces/other")
    foreign = client.get("/api/v1/workspaces/other/topology", headers=bearer(token))
    assert foreign.status_code == 403
    assert client.put("/api/v1/workspaces/newone", headers=bearer(token)).status_code == 403
    assert (
        client.delete(f"/api/v1/workspaces/{workspace}", headers=bearer(token)).status_code == 403
    )
    visible = client.get("/api/v1/workspaces", headers=bearer(token)).json()
    assert [w["id"] for w in visible] == [workspace]

    revoked = client.delete(f"/api/v1/workspaces/{workspace}/tokens/{created.json()['id']}")
    assert revoked.status_code == 204
    assert (
        client.get(f"/api/v1/workspaces/{workspace}/topology", headers=bearer(token)).status_code
        == 401
    )
    assert (
        client.delete(f"/api/v1/workspaces/{workspace}/tokens/{created.json()['id']}").status_code
        == 404
    )


def test_only_the_hash_is_stored(client: TestClient, workspace: str) -> None:
    from sqlalchemy import select

    from app.db.tables import tokens

    token = client.post(f"/api/v1/workspaces/{workspace}/tokens").json()["token"]
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        rows = connection.execute(select(tokens)).all()
    assert rows
    assert all(token not in str(tuple(row)) for row in rows)


def test_generated_admin_token_is_kept_in_the_data_dir(settings_factory: object) -> None:
    from app.main import create_app

    settings = settings_factory(admin_token=None)  # type: ignore[operator]
    first = create_app(settings).state.runtime
    first.close()
    assert first.admin_token_path is not None
    assert first.admin_token_path.stat().st_mode & 0o077 == 0
    second = create_app(settings).state.runtime
    second.close()
    assert second.admin_token == first.admin_token
    with TestClient(create_app(settings)) as anon:
        assert anon.get("/api/v1/workspaces", headers=bearer(first.admin_token)).status_code == 200
