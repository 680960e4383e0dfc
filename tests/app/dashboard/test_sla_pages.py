"""The SLA report page and its CSV and JSON downloads behind the session."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from app.reports.service import CSV_COLUMNS
from tests.app.dashboard.conftest import admin_api, sign_in, workspace_token
from tests.app.dashboard.incident_fixtures import Opened, empty_workspace, opened, quiet_client

# fixtures shared with the incident page tests
__all__ = ["empty_workspace", "opened", "quiet_client"]


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def test_the_report_defaults_to_this_month_and_shows_vendors_links_and_incidents(
    opened: Opened,
) -> None:
    client = opened.client
    sign_in(client)
    page = client.get("/w/acme/reports/sla")
    assert page.status_code == 200
    html = page.text
    first = datetime.now(UTC).replace(day=1).date().isoformat()
    assert f'name="since" type="date" value="{first}"' in html
    assert f'<time datetime="{first}T00:00:00Z">' in html
    # Contracts, costs, charts, vendors, links, incidents.
    assert html.count('class="report-section"') == 6
    assert '<tr data-vendor="ERP partner">' in html
    assert 'data-link="order:oms:erp" class="downtime"' in html
    assert 'data-link="order:shop:oms">' in html
    assert f'<tr data-incident="{opened.incident}">' in html
    assert f'href="/w/acme/incidents/{opened.incident}"' in html
    assert 'aria-current="page">SLA report</a>' in html
    assert f'href="/w/acme/reports/sla.csv?since={first}&amp;until=' in html
    assert f'href="/w/acme/reports/sla.json?since={first}&amp;until=' in html
    assert "data-print" in html


def test_the_money_penalties_and_charts(opened: Opened) -> None:
    client = opened.client
    api = admin_api(client)
    terms = {
        "resolution_minutes": 1,
        "availability_percent": "99.9",
        "monthly_fee": "1000.00",
        "currency": "PLN",
        "penalty": {"per_breach": "100.00", "cap_fee_percent": "50"},
    }
    assert api.put("/api/v1/workspaces/acme/contracts/ERP%20partner", json=terms).status_code == 201
    costs = {"currency": "PLN", "advertising_per_hour": "12.00"}
    assert api.put("/api/v1/workspaces/acme/costs", json=costs).status_code == 201
    sign_in(client)
    html = client.get("/w/acme/reports/sla").text
    report = api.get("/api/v1/workspaces/acme/reports/sla").json()
    [month] = report["penalties"]
    assert month["breaches"]  # the open incident already outlasts a one-minute promise
    assert f'<tr data-penalty="ERP partner" data-owed="{month["owed"]}">' in html
    for breach in month["breaches"]:
        assert f'<tr data-breach="{breach["kind"]}">' in html
        assert breach["formula"] in html
    assert "No contract on file for: BaseLinker, Shop agency, " in html
    [incident] = report["incidents"]
    value = incident["impact"]["value_affected"]
    assert value
    assert f"{value[0]['amount']} {value[0]['currency']}" in html
    assert f'<tr data-impact="{opened.incident}">' in html
    assert "data-running-cost" in html
    # Both charts are server-drawn SVG; the page loads no script but the dashboard's own.
    assert 'id="chart-availability"' in html
    assert '<figure class="chart" data-currency="PLN">' in html
    assert 'fill="#cf222e"' in html  # a day below the 99.9 % promise
    assert html.count("<script") == 1
    assert 'id="sla-days"' in html


def test_the_downloads_are_the_apis_report_for_the_same_period(opened: Opened) -> None:
    client = opened.client
    since = _rfc3339(opened.as_of - timedelta(days=2))
    until = _rfc3339(opened.as_of + timedelta(seconds=30))
    params = {"since": since, "until": until}
    api = admin_api(client).get("/api/v1/workspaces/acme/reports/sla", params=params)
    assert api.status_code == 200
    api_csv = admin_api(client).get(
        "/api/v1/workspaces/acme/reports/sla", params={**params, "format": "csv"}
    )
    sign_in(client)
    as_json = client.get("/w/acme/reports/sla.json", params=params)
    assert as_json.status_code == 200
    assert as_json.headers["content-type"] == "application/json"
    assert as_json.headers["content-disposition"].startswith('attachment; filename="sla-acme-')
    assert as_json.json() == api.json()
    incidents = as_json.json()["incidents"]
    assert [i["id"] for i in incidents] == [opened.incident]
    assert incidents[0]["url"] == f"https://arbiter.example/w/acme/incidents/{opened.incident}"

    as_csv = client.get("/w/acme/reports/sla.csv", params=params)
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert as_csv.headers["content-disposition"].endswith('.csv"')
    assert as_csv.text == api_csv.text
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    # No contract and no costs in this workspace: of the money, only the orders held up.
    assert {r["scope"] for r in rows} == {
        "link",
        "vendor",
        "incident",
        "incident_value_affected",
        "incident_value_stuck",
    }


def test_a_day_range_includes_its_last_day_and_bad_periods_are_explained(
    opened: Opened,
) -> None:
    client = opened.client
    sign_in(client)
    day = opened.as_of.date()
    body = client.get(
        "/w/acme/reports/sla.json",
        params={"since": (day - timedelta(days=1)).isoformat(), "until": day.isoformat()},
    ).json()
    assert body["since"] == f"{day - timedelta(days=1)}T00:00:00Z"
    assert body["until"] > f"{day}T00:00:00Z"  # the whole last day, up to now at the latest
    for since, until, message in (
        ("2026-11-20", "2026-11-10", "The period must start before it ends."),
        ("yesterday", "", "Dates are written like 2026-11-01"),
        ("2020-01-01", "2026-01-01", "A report may span 400 days at most."),
    ):
        page = client.get("/w/acme/reports/sla", params={"since": since, "until": until})
        assert page.status_code == 422
        assert message in page.text
        assert 'class="report-section"' not in page.text
        download = client.get("/w/acme/reports/sla.csv", params={"since": since})
        assert download.status_code in (200, 422)
    hostile = client.get("/w/acme/reports/sla", params={"since": '"><script>x</script>'})
    assert hostile.status_code == 422
    assert "<script>x" not in hostile.text


def test_the_report_needs_a_session_of_the_workspace(opened: Opened) -> None:
    client = opened.client
    for path in ("/w/acme/reports/sla", "/w/acme/reports/sla.csv", "/w/acme/reports/sla.json"):
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/signin?next=")
    _, secret = workspace_token(client, "other")
    sign_in(client, secret)
    for path in ("/w/acme/reports/sla", "/w/acme/reports/sla.csv", "/w/acme/reports/sla.json"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "ERP partner" not in answer.text


def test_a_workspace_without_topology_gets_a_page_not_a_report_download(
    empty_workspace: TestClient,
) -> None:
    # its friendly report page: test_incident_pages' empty states
    download = empty_workspace.get("/w/empty/reports/sla.csv")
    assert download.status_code == 409
    assert "text/html" in download.headers["content-type"]


def test_the_incident_page_shows_what_it_costs_as_it_happens(opened: Opened) -> None:
    client = opened.client
    costs = {"currency": "PLN", "advertising_daily_budget": "480.00"}
    assert admin_api(client).put("/api/v1/workspaces/acme/costs", json=costs).status_code == 201
    impact = opened.api_incident()["impact"]
    assert impact["orders_affected"] > 0
    assert impact["running_cost"]["currency"] == "PLN"
    sign_in(client)
    html = client.get(opened.page).text
    assert "What it costs so far" in html
    [value] = impact["value_affected"]
    assert f"<dd data-orders-affected>{impact['orders_affected']}: {value['amount']} PLN" in html
    assert "<dd data-running-cost>" in html
