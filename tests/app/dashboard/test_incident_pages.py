"""The incident pages: list, detail, acknowledge and note forms, the overview's panels."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from app.dashboard.incidents import duration
from app.notifications.tables import notification_deliveries
from tests.app.dashboard.conftest import (
    WORKSPACE,
    csrf_of,
    sign_in,
    workspace_token,
)
from tests.app.dashboard.incident_fixtures import Opened, empty_workspace, opened, quiet_client

__all__ = ["empty_workspace", "opened", "quiet_client"]  # fixtures


def test_the_list_shows_each_open_incident_with_its_facts(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    page = client.get("/w/acme/incidents")
    assert page.status_code == 200
    row = re.search(
        rf'<tr data-incident="{opened.incident}" data-status="open">(.*?)</tr>', page.text, re.S
    )
    assert row, page.text
    cells = row.group(1)
    facts = [
        f'href="/w/acme/incidents/{opened.incident}"',
        "order oms → erp",
        "unavailable",
        "ERP partner",
        "identified",
        "<time datetime=",
        ">no<",  # not acknowledged yet
    ]
    for fact in facts:
        assert fact in cells, fact
    assert 'aria-current="page">Incidents</a>' in page.text
    assert 'aria-current="page">Open</a>' in page.text

    resolved = client.get("/w/acme/incidents", params={"status": "resolved"})
    assert resolved.status_code == 200
    assert "No resolved incident yet" in resolved.text
    assert "data-incident=" not in resolved.text
    every = client.get("/w/acme/incidents", params={"status": "all"})
    assert f'data-incident="{opened.incident}"' in every.text
    odd = client.get("/w/acme/incidents", params={"status": "<b>", "cursor": "garbage"})
    assert odd.status_code == 200
    assert "That page link is not valid" in odd.text


def test_the_detail_says_the_verdict_and_links_the_evidence_and_traces(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    page = client.get(opened.page)
    assert page.status_code == 200
    html = page.text
    verdict = re.search(r'<p class="verdict" data-verdict>(.*?)</p>', html, re.S)
    assert verdict
    assert "stuck between oms and erp" in verdict.group(1)
    assert verdict.group(1).endswith("Responsible: ERP partner.")
    assert 'data-kind="opened" data-phase="identified"' in html
    assert "Time to detect</dt><dd>2 h" in html
    assert "No alert was sent about this incident" in html
    assert "No note yet" in html
    suspect = re.search(r'href="(/w/acme/suspects/[^"]+)"', html)
    assert suspect
    assert suspect.group(1) == "/w/acme/suspects/order/oms/erp/unavailable"
    assert client.get(suspect.group(1)).status_code == 200
    traces = re.findall(r'href="(/w/acme/trace\?[^"]+)" data-entity=', html)
    assert len(traces) >= 2
    follow = client.get(traces[0].replace("&amp;", "&"))
    assert follow.status_code == 200
    assert 'id="failure"' in follow.text


def test_acknowledging_goes_through_the_incident_service_and_returns_to_the_page(
    opened: Opened,
) -> None:
    client = opened.client
    sign_in(client)
    csrf = csrf_of(client.get(opened.page).text)
    answer = client.post(f"{opened.page}/acknowledge", data={"csrf": csrf, "by": "  Ola  N. "})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{opened.page}#acknowledged"
    stored = opened.api_incident()
    assert stored["acknowledged_by"] == "Ola N."
    assert stored["acknowledged_at"]
    assert any(t["kind"] == "acknowledged" for t in stored["timeline"])
    page = client.get(opened.page).text
    assert 'data-acknowledged="true"' in page
    assert "Acknowledged by <strong>Ola N.</strong>" in page
    assert (
        'action="/w/acme/incidents/' not in page.split('id="ack-title"')[1].split("</section>")[0]
    )
    listed = client.get("/w/acme/incidents").text
    assert "Ola N." in listed
    # The first acknowledgement stands; without a name the signer-in is named.
    again = client.post(f"{opened.page}/acknowledge", data={"csrf": csrf})
    assert again.status_code == 303
    assert opened.api_incident()["acknowledged_by"] == "Ola N."


def test_a_note_is_stored_escaped_and_an_empty_one_is_refused(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    csrf = csrf_of(client.get(opened.page).text)
    text = 'Vendor says <script>alert("x")</script> & restarts\nthe API at 15:00'
    answer = client.post(f"{opened.page}/notes", data={"csrf": csrf, "text": text})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{opened.page}#notes"
    notes = opened.api_incident()["notes"]
    assert notes[0]["text"] == text
    assert notes[0]["author"] == "admin"
    page = client.get(opened.page).text
    assert "<script>alert" not in page
    assert "Vendor says &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; restarts" in page
    empty = client.post(f"{opened.page}/notes", data={"csrf": csrf, "text": "   "})
    assert empty.status_code == 422
    assert "Write the note first." in empty.text
    assert len(opened.api_incident()["notes"]) == 1


def test_forms_without_the_sessions_csrf_token_change_nothing(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    for data in ({}, {"csrf": "forged"}):
        ack = client.post(f"{opened.page}/acknowledge", data=data)
        assert ack.status_code == 403
        assert "Request refused" in ack.text
        note = client.post(f"{opened.page}/notes", data={**data, "text": "hi"})
        assert note.status_code == 403
    stored = opened.api_incident()
    assert stored["acknowledged_at"] is None
    assert stored["notes"] == []
    client.cookies.clear()
    anonymous = client.post(f"{opened.page}/acknowledge", data={"csrf": "x"})
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/signin")


def test_a_workspace_token_sees_no_other_workspaces_incidents(opened: Opened) -> None:
    client = opened.client
    _, other_secret = workspace_token(client, "other")
    sign_in(client, other_secret)
    assert client.get("/w/other/incidents").status_code == 200
    for path in ("/w/acme/incidents", opened.page, "/w/acme/reports/sla"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Not your workspace" in answer.text
        assert "oms → erp" not in answer.text
    csrf = csrf_of(client.get("/w/other/incidents").text)
    ack = client.post(f"{opened.page}/acknowledge", data={"csrf": csrf})
    assert ack.status_code == 403
    assert opened.api_incident()["acknowledged_at"] is None
    # Under its own workspace's address, another workspace's incident does not exist.
    stolen = client.get(f"/w/other/incidents/{opened.incident}")
    assert stolen.status_code == 404
    assert "No such incident" in stolen.text
    note = client.post(
        f"/w/other/incidents/{opened.incident}/notes", data={"csrf": csrf, "text": "x"}
    )
    assert note.status_code == 404
    assert opened.api_incident()["notes"] == []


def test_unknown_incidents_are_friendly_404s(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    for incident in ("999999", "abc", "1e3", "99999999999999999999999"):
        answer = client.get(f"/w/acme/incidents/{incident}")
        assert answer.status_code == 404, incident
        assert "No such incident" in answer.text
    assert client.get("/w/nowhere/incidents").status_code == 404


def test_the_delivery_log_lists_each_alert_sent(opened: Opened) -> None:
    with opened.runtime.engine.begin() as connection:
        connection.execute(
            insert(notification_deliveries),
            [
                {
                    "workspace_id": WORKSPACE,
                    "incident_id": opened.incident,
                    "channel_id": "c1",
                    "channel_name": "Ops <Slack>",
                    "event": "open",
                    "time": opened.as_of,
                    "ok": True,
                    "attempts": 1,
                    "error": None,
                },
                {
                    "workspace_id": WORKSPACE,
                    "incident_id": opened.incident,
                    "channel_id": "c2",
                    "channel_name": "E-mail",
                    "event": "open",
                    "time": opened.as_of,
                    "ok": False,
                    "attempts": 3,
                    "error": "connection refused",
                },
            ],
        )
    sign_in(opened.client)
    html = opened.client.get(opened.page).text
    assert html.count("<tr data-ok=") == 2
    assert "Ops &lt;Slack&gt;" in html
    assert 'data-ok="false"' in html
    assert "connection refused" in html


def test_the_overview_shows_open_incidents_and_warnings_and_polls_them(opened: Opened) -> None:
    client = opened.client
    sign_in(client)
    html = client.get("/w/acme").text
    assert 'data-open-incidents="1"' in html
    assert f'href="/w/acme/incidents/{opened.incident}"' in html
    assert 'id="warnings-title"' in html
    assert 'href="/w/acme/incidents"' in html
    assert 'href="/w/acme/reports/sla"' in html
    side = client.get("/w/acme/live").json()["html"]["side"]
    assert 'data-open-incidents="1"' in side
    assert 'id="warnings-title"' in side


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/w/empty/incidents", ["No open incident"]),
        ("/w/empty", ["No topology yet"]),
        ("/w/empty/reports/sla", ['role="alert"', "topology"]),
    ],
)
def test_a_workspace_with_nothing_yet_has_friendly_empty_states(
    empty_workspace: TestClient, path: str, says: list[str]
) -> None:
    page = empty_workspace.get(path)
    assert page.status_code == 200
    for phrase in says:
        assert phrase in page.text, phrase


def test_durations_read_at_a_glance() -> None:
    assert duration(None) == "—"
    assert duration(42) == "42 s"
    assert duration(3900) == "1 h 05 min"
    assert duration(90000) == "1 d 1 h"
