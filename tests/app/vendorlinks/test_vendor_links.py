"""A read-only link for the vendor: exactly its evidence, nothing else, expiring, revocable."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.audit.tables import audit_events
from app.runtime import Runtime
from app.vendorlinks.tables import vendor_links
from tests.app.accounts.conftest import database_url, mailbox, opened, person, quiet_client
from tests.app.dashboard.conftest import FAILING_ORDERS, WORKSPACE, admin_api, submit
from tests.app.dashboard.incident_fixtures import Opened
from tests.conftest import ADMIN_TOKEN

__all__ = ["database_url", "mailbox", "opened", "quiet_client"]  # fixtures (tests.app.accounts)

SUSPECT = "order/oms/erp/unavailable"


def _runtime(opened: Opened) -> Runtime:
    runtime: Runtime = opened.client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _make_from_incident(opened: Opened, operator: TestClient) -> str:
    page = operator.get(opened.page)
    assert "Make a link for the vendor" in page.text
    made = submit(
        operator, page, f"/w/{WORKSPACE}/vendor-links", incident=str(opened.incident), hours="24"
    )
    assert made.status_code == 200, made.text
    found = re.search(r"https://arbiter\.example(/vendor/[A-Za-z0-9_-]+)", made.text)
    assert found, made.text
    return found.group(1)


def test_the_vendor_sees_exactly_its_evidence_and_each_opening_is_audited(
    opened: Opened,
) -> None:
    api = admin_api(opened.client)
    api.put("/api/v1/workspaces/elsewhere", json={"name": "Another Shop"})
    other = api.post(
        f"/api/v1/workspaces/{WORKSPACE}/vendor-links", json={"suspect": SUSPECT}
    ).json()["link"]
    operator = person(opened.client.app, "ops@agency.example", "operator")
    path = _make_from_incident(opened, operator)

    vendor = TestClient(opened.client.app, follow_redirects=False)
    page = vendor.get(path)
    assert page.status_code == 200
    text = page.text
    assert "ERP partner" in text
    assert "ACME Store" in text  # who shares it
    assert "503" in text  # the calls with their errors
    failing = [str(n) for n in FAILING_ORDERS]
    assert any(n in text for n in failing)  # the affected entities and their journeys
    assert 'class="journey"' in text
    for foreign in ("Warehouse Co", "Shop agency", "Another Shop", ADMIN_TOKEN, other):
        assert foreign not in text
    assert other.rsplit("/", 1)[1] not in text
    assert 'href="/w/' not in text  # no way into the workspace
    assert "arbiter_session" not in page.headers.get("set-cookie", "")
    assert page.headers["referrer-policy"] == "no-referrer"

    # The link opens nothing else.
    assert vendor.get(f"/w/{WORKSPACE}").status_code == 303
    assert vendor.get(f"/w/{WORKSPACE}/vendor-links").status_code == 303
    assert vendor.get(f"/api/v1/workspaces/{WORKSPACE}/incidents").status_code == 401
    assert vendor.get(path + "/../../w/acme").status_code in (303, 404)

    with _runtime(opened).engine.connect() as connection:
        opened_entries = connection.execute(
            select(audit_events.c.actor).where(audit_events.c.action == "vendor_link_opened")
        ).all()
        stored = " ".join(str(v) for row in connection.execute(select(vendor_links)) for v in row)
    assert len(opened_entries) == 1
    assert path.rsplit("/", 1)[1] not in stored  # only the hash is kept
    vendor.get(path)
    trail = api.get(f"/api/v1/workspaces/{WORKSPACE}/audit", params={"q": "vendor_link"}).json()
    assert [e["action"] for e in trail].count("vendor_link_opened") == 2
    assert "vendor_link_created" in [e["action"] for e in trail]


def test_a_withdrawn_or_expired_link_shows_nothing(opened: Opened) -> None:
    api = admin_api(opened.client)
    made = api.post(
        f"/api/v1/workspaces/{WORKSPACE}/vendor-links", json={"suspect": SUSPECT, "hours": 2}
    )
    assert made.status_code == 201, made.text
    body = made.json()
    path = body["link"][body["link"].index("/vendor/") :]
    vendor = TestClient(opened.client.app, follow_redirects=False)
    assert vendor.get(path).status_code == 200
    listed = api.get(f"/api/v1/workspaces/{WORKSPACE}/vendor-links").json()
    assert [link["id"] for link in listed] == [body["id"]]
    assert "link" not in listed[0]
    assert (
        api.delete(f"/api/v1/workspaces/{WORKSPACE}/vendor-links/{body['id']}").status_code == 204
    )
    gone = vendor.get(path)
    assert gone.status_code == 404
    assert "ERP partner" not in gone.text
    assert (
        api.delete(f"/api/v1/workspaces/{WORKSPACE}/vendor-links/{body['id']}").status_code == 404
    )

    second = api.post(
        f"/api/v1/workspaces/{WORKSPACE}/vendor-links", json={"incident": opened.incident}
    ).json()
    with _runtime(opened).engine.begin() as connection:
        connection.execute(
            update(vendor_links)
            .where(vendor_links.c.id == second["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert vendor.get(second["link"][second["link"].index("/vendor/") :]).status_code == 404
    assert vendor.get("/vendor/not-a-link").status_code == 404


def test_bad_requests_name_the_field_and_viewers_cannot_make_links(opened: Opened) -> None:
    api = admin_api(opened.client)
    base = f"/api/v1/workspaces/{WORKSPACE}/vendor-links"
    nothing = api.post(base, json={"suspect": "order/erp/wms/unavailable"})
    assert nothing.status_code == 422
    assert "suspect" in nothing.text
    assert api.post(base, json={"suspect": SUSPECT, "hours": 0}).status_code == 422
    assert api.post(base, json={"incident": 999}).status_code == 404
    assert api.post(base, json={}).status_code == 422
    viewer = person(opened.client.app, "eve@example.com", "viewer")
    page = viewer.get(opened.page)
    assert "Make a link for the vendor" not in page.text
    refused = submit(viewer, page, f"/w/{WORKSPACE}/vendor-links", incident=str(opened.incident))
    assert refused.status_code == 403
    assert api.get(base).json() == []


def test_a_link_keeps_the_language_chosen_for_the_vendor(opened: Opened) -> None:
    api = admin_api(opened.client)
    base = f"/api/v1/workspaces/{WORKSPACE}/vendor-links"
    polish = api.post(base, json={"suspect": SUSPECT, "language": "pl"})
    assert polish.status_code == 201, polish.text
    assert polish.json()["language"] == "pl"
    english = api.post(base, json={"suspect": SUSPECT}).json()
    assert english["language"] == "en"
    wrong = api.post(base, json={"suspect": SUSPECT, "language": "de"})
    assert wrong.status_code == 422
    assert "language" in wrong.text
    listed = {link["id"]: link["language"] for link in api.get(base).json()}
    assert listed == {polish.json()["id"]: "pl", english["id"]: "en"}

    vendor = TestClient(opened.client.app, follow_redirects=False)
    link = polish.json()["link"]
    shown = vendor.get(link[link.index("/vendor/") :])
    assert 'lang="pl"' in shown.text

    operator = person(opened.client.app, "ops@agency.example", "operator")
    page = operator.get(opened.page)
    assert 'name="language"' in page.text
    made = submit(
        operator, page, f"/w/{WORKSPACE}/vendor-links", incident=str(opened.incident), language="pl"
    )
    assert made.status_code == 200, made.text
    assert made.text.count('data-language="pl"') == 2
    bad = submit(
        operator, page, f"/w/{WORKSPACE}/vendor-links", incident=str(opened.incident), language="xx"
    )
    assert bad.status_code == 422
    assert "language: one of en, pl" in bad.text
