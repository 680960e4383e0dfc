from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.scenarios import STANDARD_TOPOLOGY_JSON

CONTRACT_TOPOLOGY: dict[str, Any] = STANDARD_TOPOLOGY_JSON


WOO_SHOP = {
    "base_url": "https://shop.example.com",
    "credentials": {"consumer_key": "ck_1", "consumer_secret": "cs_1"},
}  # a WooCommerce connection for the contract's shop


def connect(client: TestClient, system: str, **connection: Any) -> Any:
    """PUT the connection of ``system`` in the 'acme' workspace; the answer."""
    return client.put(f"/api/v1/workspaces/acme/systems/{system}/connection", json=connection)


def topology() -> dict[str, Any]:
    return copy.deepcopy(CONTRACT_TOPOLOGY)


@pytest.fixture
def workspace(client: TestClient) -> str:
    """A workspace named 'acme' holding the CONTRACT.md topology."""
    assert client.put("/api/v1/workspaces/acme", json={"name": "ACME"}).status_code == 201
    assert client.put("/api/v1/workspaces/acme/topology", json=CONTRACT_TOPOLOGY).status_code == 200
    return "acme"
