"""Each page of a workspace fed with the fault scenario, and the friendly empty states."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from tests.app.dashboard.conftest import (
    DRIFTING_SKU,
    admin_api,
    failing_order,
    healthy_erp_document,
    sign_in,
)

SUSPECT = "/w/acme/suspects/order/oms/erp/unavailable"


def edge_status(html: str, link: str) -> str:
    found = re.search(rf'data-status="([a-z_]+)" data-link="{re.escape(link)}"', html)
    assert found, f"no edge {link}"
    return found.group(1)


def test_the_overview_draws_the_failed_link_as_failed_and_the_one_behind_it_as_blocked(
    fed: TestClient,
) -> None:
    sign_in(fed)
    page = fed.get("/w/acme")
    assert page.status_code == 200
    html = page.text
    assert edge_status(html, "order:shop:oms") == "healthy"
    assert edge_status(html, "order:oms:erp") == "failed"
    assert edge_status(html, "order:erp:wms") == "blocked"
    assert 'data-responsible="ERP partner"' in html
    assert 'Responsible: <strong class="responsible">ERP partner</strong>' in html
    assert f'href="{SUSPECT}"' in html
    assert 'data-system="wms"' in html
    assert "wms: generic, vendor Warehouse Co" in html
    assert 'data-drift="1"' in html
    assert "No connectors configured" in html
    assert "data-live=" in html


def test_the_live_endpoint_returns_the_panels_and_link_statuses(fed: TestClient) -> None:
    sign_in(fed)
    body = fed.get("/w/acme/live").json()
    assert body["links"]["order:oms:erp"] == "failed"
    assert body["links"]["order:erp:wms"] == "blocked"
    assert set(body["html"]) == {"banner", "flows", "side"}
    assert 'data-link="order:oms:erp"' in body["html"]["flows"]


def test_the_suspect_page_says_it_in_one_sentence_and_links_the_entities(
    fed: TestClient,
) -> None:
    sign_in(fed)
    page = fed.get(SUSPECT)
    assert page.status_code == 200
    sentence = re.search(r"<p class=\"verdict\" data-verdict>(.*?)</p>", page.text, re.S)
    assert sentence
    assert "stuck between oms and erp" in sentence.group(1)
    assert sentence.group(1).endswith("Responsible: ERP partner.")
    assert "503" in page.text
    links = re.findall(r'href="(/w/acme/trace\?[^"]+)"', page.text)
    assert links
    follow = fed.get(links[0].replace("&amp;", "&"))
    assert follow.status_code == 200
    assert 'id="failure"' in follow.text


def test_the_suspect_chart_and_reports(fed: TestClient) -> None:
    sign_in(fed)
    chart = fed.get(SUSPECT + "/chart")
    assert chart.status_code == 200
    assert chart.text.count('class="bar bar-affected"') == 8
    markdown = fed.get(SUSPECT + "/report.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "attachment" in markdown.headers["content-disposition"]
    text = markdown.text
    assert text.startswith("# order link oms → erp")
    assert "Responsible: **ERP partner**" in text
    assert "| 503 |" in text
    report = fed.get(SUSPECT + "/report")
    assert report.status_code == 200
    assert "report.css" in report.text
    assert "ERP partner" in report.text


def test_a_suspect_that_is_not_there_is_a_friendly_404(fed: TestClient) -> None:
    sign_in(fed)
    answer = fed.get("/w/acme/suspects/order/shop/oms/lost")
    assert answer.status_code == 404
    assert "Nothing suspected here" in answer.text


def test_search_by_an_erp_document_opens_its_trace(fed: TestClient) -> None:
    sign_in(fed)
    answer = fed.get("/w/acme/trace", params={"q": healthy_erp_document()})
    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query == {"ns": ["erp"], "id": [healthy_erp_document()]}
    trace = fed.get(answer.headers["location"])
    assert trace.status_code == 200
    assert trace.text.count('data-kind="hop" data-status="ok"') == 3
    assert 'id="failure"' not in trace.text
    assert "WMS-" in trace.text  # every identifier resolved


def test_a_failed_order_trace_shows_the_failure_and_the_blocked_hop(fed: TestClient) -> None:
    sign_in(fed)
    shop_number, oms_number = failing_order()
    for query in (shop_number, oms_number, f"oms:{oms_number}"):
        answer = fed.get("/w/acme/trace", params={"q": query})
        assert answer.status_code == 303, query
    trace = fed.get(answer.headers["location"])
    html = trace.text
    assert 'data-jump="failure"' in html
    assert re.search(r'data-kind="hop" data-status="failed" id="failure"', html)
    assert 'data-kind="hop" data-status="blocked"' in html
    assert "responsible: ERP partner" in html
    assert html.count('data-kind="event"') >= 5


def test_search_for_nothing_known_is_a_friendly_not_found(fed: TestClient) -> None:
    sign_in(fed)
    answer = fed.get("/w/acme/trace", params={"q": "no-such-thing"})
    assert answer.status_code == 404
    assert "Nothing found" in answer.text
    assert fed.get("/w/acme/trace").status_code == 200


def test_the_stock_page_lists_drift_with_oversell_risk_first(fed: TestClient) -> None:
    sign_in(fed)
    page = fed.get("/w/acme/stock")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-sku="([^"]+)"[^>]*data-oversell="(true|false)"', page.text)
    assert rows[0] == (DRIFTING_SKU, "true")
    assert "XYZ-9" not in page.text  # systems that agree are not listed


def test_identifiers_from_outside_are_escaped(fed: TestClient) -> None:
    api = admin_api(fed)
    evil = '<script>alert("x")</script>'
    event = {
        "id": "evil-1",
        "time": "2026-11-25T10:00:00Z",
        "flow": "order",
        "kind": "seen",
        "system": "shop",
        "refs": {"shop": evil},
        "state": "<b>bold</b>",
    }
    assert api.post("/api/v1/workspaces/acme/events", json={"events": [event]}).status_code == 202
    sign_in(fed)
    trace = fed.get("/w/acme/trace", params={"ns": "shop", "id": evil})
    assert trace.status_code == 200
    assert evil not in trace.text
    assert "<b>bold</b>" not in trace.text
    assert "&lt;script&gt;" in trace.text
    search = fed.get("/w/acme/trace", params={"q": evil + "x"})
    assert evil not in search.text


def test_empty_states_never_fail(app_client: TestClient) -> None:
    api = admin_api(app_client)
    api.put("/api/v1/workspaces/bare", json={})
    sign_in(app_client)
    bare = app_client.get("/w/bare")
    assert bare.status_code == 200
    assert "No topology yet" in bare.text
    for path in ("/w/bare/stock", "/w/bare/trace?q=1", "/w/bare/trace?ns=shop&id=1"):
        assert app_client.get(path).status_code in (200, 404), path
    assert app_client.get("/w/bare/suspects/order/a/b/missing").status_code == 404
    api.put("/api/v1/workspaces/bare/topology", json={"systems": [], "links": []})
    empty = app_client.get("/w/bare")
    assert empty.status_code == 200
    unknown = app_client.get("/w/nope")
    assert unknown.status_code == 404
    assert "There is no workspace" in unknown.text
    assert app_client.get("/w/NOT_VALID!").status_code == 404
    listing = app_client.get("/workspaces")
    assert 'href="/w/bare"' in listing.text


def test_a_workspace_with_a_topology_and_no_events_invites_events(
    app_client: TestClient,
) -> None:
    api = admin_api(app_client)
    api.put("/api/v1/workspaces/fresh", json={})
    from tests.app.dashboard.conftest import fault_topology

    api.put("/api/v1/workspaces/fresh/topology", json=fault_topology())
    sign_in(app_client)
    page = app_client.get("/w/fresh")
    assert page.status_code == 200
    assert "No events yet" in page.text
    assert 'data-status="no_data"' in page.text
    assert app_client.get("/w/fresh/stock").status_code == 200


def test_replaying_a_past_moment_keeps_it_in_every_link(fed: TestClient) -> None:
    sign_in(fed)
    page = fed.get("/w/acme", params={"as_of": "2020-01-01T00:00:00Z"})
    assert page.status_code == 200
    assert "Showing the state as of" in page.text
    assert "as_of=2020-01-01T00%3A00%3A00Z" in page.text
    assert "data-live=" not in page.text  # a replay does not refresh itself
    assert fed.get("/w/acme", params={"as_of": "garbage"}).status_code == 200


def test_static_files_are_served(app_client: TestClient) -> None:
    assert app_client.get("/static/app.css").status_code == 200
    assert "localizeTimes" in app_client.get("/static/app.js").text
