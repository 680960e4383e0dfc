from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.connections.tables import connections

URL = "/api/v1/workspaces/acme/systems/{}/connection"

WOO = {
    "base_url": "https://shop.example.com/",
    "credentials": {"consumer_key": "ck_live_123", "consumer_secret": "cs_live_456"},
    "webhook_secret": "whsec-shop",
    "poll_interval_seconds": 30,
}


def test_put_get_masks_and_seals_secrets(client: TestClient, workspace: str) -> None:
    created = client.put(URL.format("shop"), json=WOO)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["kind"] == "woocommerce"
    assert body["base_url"] == "https://shop.example.com"
    assert body["credentials"] == {"consumer_key": "********", "consumer_secret": "********"}
    assert body["webhook_secret_set"] is True
    assert body["webhook_url"] == "/webhooks/acme/shop"
    assert client.get(URL.format("shop")).json() == body

    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    with engine.connect() as connection:
        row = tuple(connection.execute(select(connections)).one())
    for secret in ("ck_live_123", "cs_live_456", "whsec-shop"):
        assert secret not in str(row)

    # Sending the mask back keeps the stored secret; omitting webhook_secret keeps it too.
    again = client.put(
        URL.format("shop"), json={**body_of(WOO), "credentials": body["credentials"]}
    )
    assert again.status_code == 200
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    from app.connections.service import load_target

    with engine.connect() as connection:
        target = load_target(connection, runtime.secrets, "acme", "shop")
    assert target.credentials == WOO["credentials"]
    assert target.webhook_secret == "whsec-shop"
    listed = client.get("/api/v1/workspaces/acme/connections").json()
    assert [c["system"] for c in listed] == ["shop"]
    assert client.delete(URL.format("shop")).status_code == 204
    assert client.get(URL.format("shop")).status_code == 404


def body_of(connection: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in connection.items() if k != "webhook_secret"}


def test_bad_connections_are_422_naming_the_field(client: TestClient, workspace: str) -> None:
    missing = client.put(
        URL.format("shop"), json={"base_url": "https://x.example", "credentials": {}}
    )
    assert missing.status_code == 422
    assert "consumer_key" in str(missing.json())
    assert "ck" not in str(missing.json()).replace("consumer_key", "")
    no_url = client.put(URL.format("oms"), json={"credentials": {"token": "t"}})
    assert no_url.status_code == 422
    assert no_url.json()["detail"][0]["loc"] == ["body", "base_url"]
    bad_url = client.put(
        URL.format("oms"), json={"base_url": "ftp://x", "credentials": {"token": "t"}}
    )
    assert bad_url.status_code == 422
    unknown = client.put(URL.format("wms"), json=WOO)
    assert unknown.status_code == 404
    extra = client.put(URL.format("shop"), json={**WOO, "pasword": "x"})
    assert extra.status_code == 422


def test_secret_never_in_errors(client: TestClient, workspace: str) -> None:
    response = client.put(
        URL.format("shop"),
        json={
            "base_url": "https://x.example",
            "credentials": {"consumer_key": "ck_topsecret", "oops": "cs_hidden"},
        },
    )
    assert response.status_code == 422
    assert "topsecret" not in response.text
    assert "cs_hidden" not in response.text
