"""Contracts per vendor and running costs: PUT/GET/DELETE, validation naming the field."""

from __future__ import annotations

from urllib.parse import quote

from fastapi.testclient import TestClient

BASE = "/api/v1/workspaces/acme"
VENDOR = 'ERP partner, "Sp. z o.o."'
TERMS = {
    "response_minutes": 60,
    "resolution_minutes": 240,
    "availability_percent": "99.5",
    "monthly_fee": "2000.00",
    "currency": "PLN",
    "penalty": {
        "per_breach": "100.00",
        "per_hour_beyond": "50",
        "fee_percent": "5",
        "cap_fee_percent": "30",
    },
    "reference": "UM/2026/17",
}


def _workspace(client: TestClient) -> None:
    assert client.put(BASE, json={"name": "ACME"}).status_code == 201


def test_contract_round_trip(client: TestClient) -> None:
    _workspace(client)
    url = f"{BASE}/contracts/{quote(VENDOR)}"
    created = client.put(url, json=TERMS)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["vendor"] == VENDOR
    assert body["monthly_fee"] == "2000.00"
    assert body["penalty"]["cap_fee_percent"] == "30"
    assert body["penalty"]["cap_amount"] is None

    changed = client.put(url, json=TERMS | {"monthly_fee": "2500.00"})
    assert changed.status_code == 200, changed.text
    assert client.get(url).json()["monthly_fee"] == "2500.00"
    listed = client.get(f"{BASE}/contracts").json()
    assert [c["vendor"] for c in listed] == [VENDOR]

    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url).status_code == 404
    assert client.get(f"{BASE}/contracts").json() == []


def _invalid_field(client: TestClient, url: str, body: object) -> list[str]:
    response = client.put(url, json=body)
    assert response.status_code == 422, response.text
    return [".".join(str(p) for p in item["loc"]) for item in response.json()["detail"]]


def test_contract_validation_names_the_field(client: TestClient) -> None:
    _workspace(client)
    url = f"{BASE}/contracts/BaseLinker"
    assert _invalid_field(client, url, TERMS | {"currency": "zł"}) == ["body.currency"]
    assert _invalid_field(client, url, TERMS | {"monthly_fee": "-1"}) == ["body.monthly_fee"]
    assert _invalid_field(client, url, TERMS | {"monthly_fee": "1.005"}) == ["body.monthly_fee"]
    assert _invalid_field(client, url, TERMS | {"monthly_fee": "NaN"}) == ["body.monthly_fee"]
    assert _invalid_field(client, url, TERMS | {"availability_percent": 101}) == [
        "body.availability_percent"
    ]
    assert _invalid_field(client, url, TERMS | {"response_minutes": 0}) == ["body.response_minutes"]
    assert _invalid_field(client, url, TERMS | {"penalty": {"per_brech": "1"}}) == [
        "body.penalty.per_brech"
    ]
    no_fee = TERMS | {"monthly_fee": "0"}
    assert _invalid_field(client, url, no_fee) == [
        "body.penalty.fee_percent",
        "body.penalty.cap_fee_percent",
    ]
    # Nothing of a refused contract is stored.
    assert client.get(url).status_code == 404
    assert client.put(f"{BASE}/contracts/{'x' * 201}", json=TERMS).status_code == 422


def test_contracts_of_a_missing_workspace(client: TestClient) -> None:
    assert client.get("/api/v1/workspaces/nowhere/contracts").status_code == 404
    assert (
        client.put("/api/v1/workspaces/nowhere/costs", json={"currency": "PLN"}).status_code == 404
    )


def test_costs_round_trip(client: TestClient) -> None:
    _workspace(client)
    assert client.get(f"{BASE}/costs").status_code == 404
    body = {
        "currency": "EUR",
        "advertising_daily_budget": "480.00",
        "other": [{"name": "warehouse staff", "per_hour": "35.50"}],
    }
    created = client.put(f"{BASE}/costs", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["per_hour_total"] == "55.50"  # 480 / 24 + 35.50
    again = client.put(f"{BASE}/costs", json={"currency": "EUR", "advertising_per_hour": "1e1"})
    assert again.status_code == 200
    assert again.json()["advertising_per_hour"] == "10.00"  # money reads back with two decimals
    assert client.get(f"{BASE}/costs").json()["per_hour_total"] == "10.00"
    both = body | {"advertising_per_hour": "20"}
    assert _invalid_field(client, f"{BASE}/costs", both) == ["body.advertising_daily_budget"]
    assert client.get(f"{BASE}/costs").json()["advertising_per_hour"] == "10.00"
    assert client.delete(f"{BASE}/costs").status_code == 204
    assert client.get(f"{BASE}/costs").status_code == 404


def test_a_workspace_token_of_another_workspace_is_refused(client: TestClient) -> None:
    _workspace(client)
    assert client.put("/api/v1/workspaces/other", json={}).status_code == 201
    token = client.post("/api/v1/workspaces/other/tokens", json={"name": "m"}).json()["token"]
    response = client.get(f"{BASE}/contracts", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (403, 404)
