from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.scenarios import STANDARD_TOPOLOGY_JSON

CONTRACT_TOPOLOGY: dict[str, Any] = STANDARD_TOPOLOGY_JSON

CONTRACT_EVENTS: list[dict[str, Any]] = [
    {
        "id": "shop-order-100045-created",
        "time": "2026-11-25T10:00:00Z",
        "flow": "order",
        "kind": "seen",
        "system": "shop",
        "refs": {"shop": "100045"},
        "state": "processing",
        "data": {"total": "199.00", "currency": "PLN", "lines": 2},
    },
    {
        "id": "oms-call-7789-1",
        "time": "2026-11-25T10:03:10Z",
        "flow": "order",
        "kind": "call",
        "system": "oms",
        "target": "erp",
        "refs": {"oms": "7789", "shop": "100045"},
        "outcome": {"status": 503, "duration_ms": 30000, "error": "upstream timeout"},
    },
    {
        "id": "erp-stock-ABC-1-0915",
        "time": "2026-11-25T09:15:00Z",
        "flow": "stock",
        "kind": "seen",
        "system": "erp",
        "refs": {"sku": "ABC-1"},
        "quantity": 12,
    },
]


def topology() -> dict[str, Any]:
    return copy.deepcopy(CONTRACT_TOPOLOGY)


@pytest.fixture
def workspace(client: TestClient) -> str:
    """A workspace named 'acme' holding the CONTRACT.md topology."""
    assert client.put("/api/v1/workspaces/acme", json={"name": "ACME"}).status_code == 201
    assert client.put("/api/v1/workspaces/acme/topology", json=CONTRACT_TOPOLOGY).status_code == 200
    return "acme"
