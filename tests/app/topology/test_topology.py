from __future__ import annotations

from fastapi.testclient import TestClient

from tests.app.conftest import CONTRACT_TOPOLOGY, topology


def test_put_then_get_round_trips(client: TestClient) -> None:
    client.put("/api/v1/workspaces/acme")
    assert client.get("/api/v1/workspaces/acme/topology").status_code == 404
    put = client.put("/api/v1/workspaces/acme/topology", json=CONTRACT_TOPOLOGY)
    assert put.status_code == 200
    assert client.get("/api/v1/workspaces/acme/topology").json() == CONTRACT_TOPOLOGY


def test_put_replaces(client: TestClient, workspace: str) -> None:
    smaller = topology()
    smaller["links"] = smaller["links"][:2]
    assert client.put(f"/api/v1/workspaces/{workspace}/topology", json=smaller).status_code == 200
    assert (
        client.get(f"/api/v1/workspaces/{workspace}/topology").json()["links"] == smaller["links"]
    )


def _rejected(client: TestClient, body: object) -> str:
    client.put("/api/v1/workspaces/acme")
    response = client.put("/api/v1/workspaces/acme/topology", json=body)
    assert response.status_code == 422, response.text
    return str(response.json()["detail"])


def test_cycle_names_the_offending_link(client: TestClient) -> None:
    body = topology()
    body["links"].append(
        {
            "flow": "order",
            "from": "erp",
            "to": "shop",
            "initiator": "from",
            "owner": "X",
            "sla_seconds": 60,
        }
    )
    message = _rejected(client, body)
    assert "order erp→shop" in message
    assert "cycle" in message
    # Nothing of the rejected topology is stored.
    assert client.get("/api/v1/workspaces/acme/topology").status_code == 404


def test_unknown_system_names_the_link(client: TestClient) -> None:
    body = topology()
    body["links"][1]["to"] = "wms"
    message = _rejected(client, body)
    assert "links[1]" in message
    assert "'wms'" in message


def test_field_rules(client: TestClient) -> None:
    for mutate, needle in [
        (lambda b: b["links"][0].update(sla_seconds=0), "sla_seconds"),
        (lambda b: b["links"][0].update(initiator="both"), "initiator"),
        (lambda b: b["systems"].append({"id": "arbiter", "kind": "x", "vendor": "y"}), "reserved"),
        (lambda b: b["systems"].append(dict(b["systems"][0])), "twice"),
        (lambda b: b["links"][0].update(to="shop"), "different systems"),
        (lambda b: b["systems"][0].pop("vendor"), "vendor"),
    ]:
        body = topology()
        mutate(body)
        assert needle in _rejected(client, body)


def test_not_json_is_422(client: TestClient) -> None:
    client.put("/api/v1/workspaces/acme")
    response = client.put(
        "/api/v1/workspaces/acme/topology",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
