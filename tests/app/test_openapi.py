from __future__ import annotations

from fastapi.testclient import TestClient


def test_openapi_describes_the_contract(client: TestClient) -> None:
    document = client.get("/openapi.json", headers={"Authorization": ""}).json()
    paths = document["paths"]
    for path, method in [
        ("/api/v1/workspaces/{ws}", "put"),
        ("/api/v1/workspaces/{ws}", "delete"),
        ("/api/v1/workspaces/{ws}/topology", "put"),
        ("/api/v1/workspaces/{ws}/topology", "get"),
        ("/api/v1/workspaces/{ws}/events", "post"),
        ("/api/v1/workspaces/{ws}/events", "get"),
        ("/api/v1/workspaces/{ws}/tokens", "post"),
        ("/api/v1/workspaces/{ws}/tokens/{token_id}", "delete"),
        ("/healthz", "get"),
    ]:
        assert method in paths[path], (path, method)
    body = paths["/api/v1/workspaces/{ws}/events"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "application/x-ndjson"}
    schemas = document["components"]["schemas"]
    assert {"EventBatch", "Event", "Outcome", "Topology", "Link", "System"} <= set(schemas)
    assert "from" in schemas["Link"]["properties"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_healthz_reports_the_store(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "store": "ok"}
