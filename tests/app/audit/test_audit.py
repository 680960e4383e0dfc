"""The audit trail: who did what, searchable and exportable, never a secret."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.audit import service as audit
from app.audit.tables import audit_events
from app.runtime import Runtime
from tests.app.accounts.conftest import (
    PASSWORD,
    Mailbox,
    database_url,
    invite,
    mailbox,
    opened,
    person,
    quiet_client,
    sign_in,
)
from tests.app.dashboard.conftest import WORKSPACE, admin_api, csrf_of, submit
from tests.app.dashboard.conftest import sign_in as token_sign_in
from tests.app.dashboard.incident_fixtures import Opened
from tests.conftest import ADMIN_TOKEN

__all__ = ["database_url", "mailbox", "opened", "quiet_client"]  # fixtures (tests.app.accounts)


def test_the_trail_says_who_did_what_and_holds_no_secret(
    opened: Opened, mailbox: tuple[Mailbox, str]
) -> None:
    client = opened.client
    api = admin_api(client)
    secrets_seen = [PASSWORD, ADMIN_TOKEN]

    token = api.post(f"/api/v1/workspaces/{WORKSPACE}/tokens", json={"name": "ci"}).json()
    secrets_seen.append(token["token"])
    assert api.delete(f"/api/v1/workspaces/{WORKSPACE}/tokens/{token['id']}").status_code == 204

    invitation = invite(client, "ops@agency.example", "operator")
    secrets_seen.append(invitation.rsplit("/", 1)[1])
    operator = person(client.app, "ops@agency.example", "operator")
    secrets_seen.append(operator.cookies["arbiter_session"])
    page = operator.get(opened.page)
    submit(operator, page, f"{opened.page}/acknowledge")
    submit(operator, page, f"{opened.page}/notes", text="ERP vendor called")
    browser = TestClient(client.app, follow_redirects=False)
    form = browser.get("/signin/reset")
    submit(browser, form, "/signin/reset", email="ops@agency.example")
    reset = mailbox[0].link("/signin/reset/")
    secrets_seen.append(reset.rsplit("/", 1)[1])
    page = browser.get(reset)
    submit(browser, page, reset, password="second password!")
    secrets_seen.append("second password!")
    assert token_sign_in(browser).status_code == 303  # the admin token at the dashboard

    exported = api.get(f"/api/v1/workspaces/{WORKSPACE}/audit")
    assert exported.status_code == 200
    entries = exported.json()
    actions = [(e["actor"], e["action"]) for e in entries]
    assert ("admin", "token_created") in actions
    assert ("admin", "token_revoked") in actions
    assert ("admin", "invitation_created") in actions
    assert ("ops@agency.example", "invitation_accepted") in actions
    assert ("ops@agency.example", "signed_in") in actions
    assert ("ops@agency.example", "incident_acknowledged") in actions
    assert ("ops@agency.example", "incident_note_added") in actions
    assert ("ops@agency.example", "password_reset") in actions
    assert entries == sorted(entries, key=lambda e: e["at"], reverse=True)

    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        stored = " ".join(
            str(value) for row in connection.execute(select(audit_events)) for value in row
        )
    assert "signed_in" in stored
    for secret in secrets_seen:
        assert secret not in stored
    assert "ERP vendor called" not in stored  # a note's text is the incident's, not the trail's

    found = api.get(f"/api/v1/workspaces/{WORKSPACE}/audit", params={"q": "acknowledged"}).json()
    assert [e["action"] for e in found] == ["incident_acknowledged"]
    assert found[0]["target"] == f"incident {opened.incident}"

    as_csv = api.get(f"/api/v1/workspaces/{WORKSPACE}/audit", params={"format": "csv"})
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert len(rows) == len(entries)
    assert {"at", "actor", "action", "target", "detail"} <= set(rows[0])

    page = operator.get(f"/w/{WORKSPACE}/audit", params={"q": "token_"})
    assert page.status_code == 303  # the reset ended the operator's session
    assert sign_in(operator, "ops@agency.example", "second password!").status_code == 303
    page = operator.get(f"/w/{WORKSPACE}/audit", params={"q": "token_"})
    assert page.status_code == 200
    assert "token_created" in page.text
    assert "incident_acknowledged" not in page.text


def test_the_trail_export_belongs_to_its_workspace(opened: Opened) -> None:
    api = admin_api(opened.client)
    api.put("/api/v1/workspaces/other", json={})
    token = api.post("/api/v1/workspaces/other/tokens", json={}).json()["token"]
    foreign = admin_api(opened.client)
    foreign.headers["Authorization"] = f"Bearer {token}"
    assert foreign.get(f"/api/v1/workspaces/{WORKSPACE}/audit").status_code == 403
    assert foreign.get("/api/v1/workspaces/other/audit").status_code == 200
    assert (
        api.get(f"/api/v1/workspaces/{WORKSPACE}/audit", params={"format": "xml"}).status_code
        == 422
    )


def test_a_detail_named_like_a_secret_is_refused(opened: Opened) -> None:
    runtime: Runtime = opened.client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection, pytest.raises(ValueError, match="secret"):
        audit.record(connection, WORKSPACE, "x", "y", "z", datetime.now(UTC), api_token="arb_1")


def test_a_typed_name_cannot_become_a_spreadsheet_formula(opened: Opened) -> None:
    client = opened.client
    token_sign_in(client)
    page = client.get(opened.page)
    submit(client, page, f"{opened.page}/acknowledge", by="=HYPERLINK(1)")
    as_csv = admin_api(client).get(f"/api/v1/workspaces/{WORKSPACE}/audit?format=csv").text
    assert "=HYPERLINK" in as_csv
    assert ",=HYPERLINK" not in as_csv


def test_changes_through_the_api_are_recorded_by_route_never_by_body(opened: Opened) -> None:
    api = admin_api(opened.client)
    base = f"/api/v1/workspaces/{WORKSPACE}"
    secret_url = "json://user:hunter2-secret@127.0.0.1:9/hook"
    made = api.post(f"{base}/channels", json={"name": "night shift", "url": secret_url})
    assert made.status_code == 201, made.text
    token = api.post(f"{base}/tokens", json={"name": "ci"}).json()
    client = TestClient(opened.client.app)
    client.headers["Authorization"] = f"Bearer {token['token']}"
    topology = api.get(f"{base}/topology").json()
    assert client.put(f"{base}/topology", json=topology).status_code == 200
    assert client.put(f"{base}/topology", json={"systems": "nope"}).status_code == 422
    entries = api.get(f"{base}/audit").json()
    actions = [(e["actor"], e["action"]) for e in entries]
    assert ("admin", "POST /channels") in actions
    assert (f"token {token['id']}", "PUT /topology") in actions
    by_token = [a for who, a in actions if who == f"token {token['id']}"]
    assert by_token == ["PUT /topology"]  # the refused change is not recorded
    assert "hunter2" not in api.get(f"{base}/audit", params={"format": "csv"}).text


def test_dashboard_forms_are_recorded_with_the_person_who_posted_them(opened: Opened) -> None:
    operator = person(opened.client.app, "ops@agency.example", "operator")
    page = operator.get(f"/w/{WORKSPACE}/status-page")
    assert page.status_code == 200
    start = datetime.now(UTC) + timedelta(days=1)
    form = {
        "csrf": csrf_of(page.text),
        "system": "erp",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "ERP upgrade",
    }
    declared = operator.post(f"/w/{WORKSPACE}/maintenance", data=form)
    assert declared.status_code == 303, declared.text
    refused = operator.post(f"/w/{WORKSPACE}/maintenance", data={**form, "system": ""})
    assert refused.status_code >= 400
    trail = admin_api(opened.client).get(f"/api/v1/workspaces/{WORKSPACE}/audit").json()
    posted = [(e["actor"], e["action"]) for e in trail if e["action"] == "POST /maintenance"]
    assert posted == [("ops@agency.example", "POST /maintenance")]
