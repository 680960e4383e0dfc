"""The dashboard's status page tab: posting an update from a Polish template, declaring a
maintenance window, and the CSRF check on both forms."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sandbox.topology import demo_topology
from tests.app.dashboard.conftest import admin_api, app_client, csrf_of, sign_in
from tests.app.status.test_status_page import PAGE

__all__ = ["app_client"]

TAB = "/w/acme/status-page"


def test_post_an_update_and_declare_maintenance(app_client: TestClient) -> None:
    api = admin_api(app_client)
    api.put("/api/v1/workspaces/acme", json={"name": "ACME"}).raise_for_status()
    api.put("/api/v1/workspaces/acme/topology", json=demo_topology()).raise_for_status()
    sign_in(app_client)
    empty = app_client.get(TAB)
    assert empty.status_code == 200
    assert "PUT /api/v1/workspaces/acme/status-page" in empty.text
    api.put("/api/v1/workspaces/acme/status-page", json=PAGE).raise_for_status()

    check = {"kind": "dns", "target": "shop", "host": "shop.example"}
    api.put("/api/v1/workspaces/acme/checks/domain", json=check).raise_for_status()
    page = app_client.get(TAB)
    assert "Sklep działa normalnie." in page.text  # what customers see now
    assert '<tr data-check="domain" data-ok="false">' in page.text  # not run yet
    assert "Stany magazynowe widoczne w sklepie mogą być nieaktualne." in page.text
    csrf = csrf_of(page.text)
    refused = app_client.post(f"{TAB}/updates", data={"csrf": "forged", "template": "stock_stale"})
    assert refused.status_code == 403
    posted = app_client.post(f"{TAB}/updates", data={"csrf": csrf, "template": "stock_stale"})
    assert posted.status_code == 303
    assert posted.headers["location"] == f"{TAB}#updates"
    empty_form = app_client.post(f"{TAB}/updates", data={"csrf": csrf})
    assert empty_form.status_code == 422
    assert "give a message, a template, or both" in empty_form.text
    feed = app_client.get("/status/acme/feed.json").json()
    assert [i["content_text"] for i in feed["items"]] == [
        "Stany magazynowe widoczne w sklepie mogą być nieaktualne."
    ]

    window = {"csrf": csrf, "system": "erp", "starts_at": "2026-12-24T22:00",
              "ends_at": "2026-12-25T02:00", "reason": "inventory"}  # fmt: skip
    declared = app_client.post("/w/acme/maintenance", data=window)
    assert declared.status_code == 303, declared.text
    backwards = app_client.post(
        "/w/acme/maintenance", data=window | {"ends_at": "2026-12-24T21:00"}
    )
    assert backwards.status_code == 422
    assert "must be after starts_at" in backwards.text
    listed = api.get(
        "/api/v1/workspaces/acme/maintenance", params={"until": "2027-01-01T00:00:00Z"}
    ).json()
    assert [(w["system"], w["starts_at"]) for w in listed] == [("erp", "2026-12-24T22:00:00Z")]
