"""The public status page: opt-in, what customers feel from the open incidents (never which
system or vendor), the merchant's updates, 90 days of history, feeds, banner, maintenance;
and nothing else of the workspace leaks through any of it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from app.incidents.tables import incidents
from sandbox.topology import demo_topology

API = "/api/v1/workspaces/acme"
PAGE = {
    "enabled": True,
    "name": "Kubki i Spodki",
    "language": "pl",
    "logo_url": "https://cdn.example/logo.png",
    "accent": "#aa3377",
    "contact_email": "pomoc@kubki.example",
    "contact_phone": "+48 600 100 200",
}
SECRETS = (
    "Shop agency", "BaseLinker", "ERP partner", "woocommerce", "baselinker", "odoo",
    "oms", "erp", "HIDDEN-SUMMARY", "HIDDEN-EVIDENCE", "rejected", "responsible",
)  # fmt: skip


@pytest.fixture
def api(client: TestClient) -> TestClient:
    client.put(API, json={"name": "ACME"}).raise_for_status()
    client.put(f"{API}/topology", json=demo_topology()).raise_for_status()
    return client


def insert_incident(client: TestClient, **fields: Any) -> None:
    now = datetime.now(UTC)
    row = {
        "workspace_id": "acme", "key": f"k{fields.get('opened_at', now)}", "flow": None,
        "from_system": None, "to_system": None, "system": None, "family": "unavailable",
        "mode": "rejected", "responsible": "ERP partner", "status": "open",
        "phase": "investigating", "confidence": 0.9, "affected": 5, "opened_affected": 5,
        "peak_affected": 5, "healthy": 0, "escalation": 0, "flaps": 0,
        "summary": "HIDDEN-SUMMARY erp BaseLinker", "evidence": '{"x": "HIDDEN-EVIDENCE"}',
        "links": "[]", "first_failure": now - timedelta(minutes=10), "last_seen": now,
        "opened_at": now - timedelta(minutes=9), "updated_at": now,
    } | fields  # fmt: skip
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection:
        connection.execute(incidents.insert().values(row))


def _public(client: TestClient) -> dict[str, str]:
    """Every public representation of the page, by path: what must leak nothing."""
    found = {}
    for path in ("", "/banner", "/feed.json", "/feed.atom"):
        answer = client.get(f"/status/acme{path}", headers={"Authorization": ""})
        assert answer.status_code == 200, (path, answer.text)
        found[path] = answer.text
    return found


def _leaks_nothing(pages: dict[str, str]) -> None:
    for path, text in pages.items():
        for secret in SECRETS:
            # Whole words: "erp" is inside Polish "cierpliwość".
            assert not re.search(rf"\b{re.escape(secret)}\b", text), (path, secret)


def test_unpublished_or_unknown_pages_are_one_and_the_same_404(api: TestClient) -> None:
    anonymous = {"Authorization": ""}
    unknown = api.get("/status/nobody-here", headers=anonymous)
    assert unknown.status_code == 404
    assert api.get("/status/acme", headers=anonymous).text == unknown.text  # no page yet
    api.put(f"{API}/status-page", json=PAGE | {"enabled": False}).raise_for_status()
    for path in ("", "/banner", "/feed.json", "/feed.atom"):
        assert api.get(f"/status/acme{path}", headers=anonymous).status_code == 404
    assert api.put(f"{API}/status-page", json=PAGE).status_code == 200
    page = api.get("/status/acme", headers=anonymous)
    assert page.status_code == 200
    assert '<html lang="pl">' in page.text
    assert "Sklep działa normalnie." in page.text
    assert "--accent: #aa3377" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "frame-ancestors *" in api.get("/status/acme/banner").headers["content-security-policy"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("accent", "red;}</style>"), ("logo_url", "http://cdn.example/l.png"),
     ("language", "de"), ("contact_email", "nobody"), ("name", "")],
)  # fmt: skip
def test_settings_validation_names_the_field(api: TestClient, field: str, value: str) -> None:
    answer = api.put(f"{API}/status-page", json=PAGE | {field: value})
    assert answer.status_code == 422, answer.text
    assert [item["loc"][-1] for item in answer.json()["detail"]] == [field]
    assert api.get(f"{API}/status-page").status_code == 404


def test_incidents_become_what_customers_feel_and_nothing_else(api: TestClient) -> None:
    api.put(f"{API}/status-page", json=PAGE).raise_for_status()
    now = datetime.now(UTC)
    insert_incident(api, system="shop", mode="down", responsible="Shop agency")
    insert_incident(
        api,
        flow="stock", from_system="oms", to_system="shop", status="resolved",
        first_failure=now - timedelta(days=10), opened_at=now - timedelta(days=10),
        resolved_at=now - timedelta(days=9, hours=23),
    )  # fmt: skip
    insert_incident(
        api,
        status="resolved", first_failure=now - timedelta(days=100),
        opened_at=now - timedelta(days=100), resolved_at=now - timedelta(days=99),
    )  # fmt: skip
    pages = _public(api)
    _leaks_nothing(pages)
    unavailable = (
        "Sklep jest niedostępny. Napisz do nas: pomoc@kubki.example lub zadzwoń: +48 600 100 200."
    )
    assert unavailable in pages[""]
    assert unavailable in pages["/banner"]
    feed = json.loads(pages["/feed.json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["_status"]["state"] == "unavailable"
    texts = [item["content_text"] for item in feed["items"]]
    # Newest first: the shop's outage, then the stock incident resolved, then its start.
    assert texts == [
        unavailable,
        "Wszystko znów działa. Dziękujemy za cierpliwość.",
        "Stany magazynowe widoczne w sklepie mogą być nieaktualne.",
    ]
    assert pages[""].count("<li>") == 3 + 2  # three updates, two incidents within 90 days
    atom = ET.fromstring(pages["/feed.atom"])  # noqa: S314 - our own output
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.findtext("{http://www.w3.org/2005/Atom}content") for e in entries] == texts


def test_updates_from_templates_and_own_words(api: TestClient) -> None:
    assert (
        api.post(f"{API}/status-page/updates", json={"template": "orders_late"}).status_code == 404
    )
    api.put(f"{API}/status-page", json=PAGE).raise_for_status()
    posted = api.post(f"{API}/status-page/updates", json={"template": "orders_late"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["message"] == (
        "Zamówienia są przyjmowane, ale potwierdzenia i wysyłka mogą się opóźnić."
    )
    own = api.post(f"{API}/status-page/updates", json={"message": "Kurier odbierze paczki jutro."})
    assert own.status_code == 201
    assert api.post(f"{API}/status-page/updates", json={}).status_code == 422
    bad = api.post(f"{API}/status-page/updates", json={"template": "vendor_blamed"})
    assert bad.status_code == 422
    feed = api.get("/status/acme/feed.json")
    assert feed.headers["access-control-allow-origin"] == "*"
    assert [i["content_text"] for i in feed.json()["items"]] == [
        "Kurier odbierze paczki jutro.",
        posted.json()["message"],
    ]
    assert api.delete(f"{API}/status-page/updates/{own.json()['id']}").status_code == 204
    assert len(api.get(f"{API}/status-page/updates").json()) == 1


def test_planned_maintenance_is_announced_without_naming_the_system(api: TestClient) -> None:
    api.put(f"{API}/status-page", json=PAGE).raise_for_status()
    now = datetime.now(UTC)
    window = {
        "system": "shop",
        "starts_at": (now + timedelta(days=2)).isoformat(),
        "ends_at": (now + timedelta(days=2, hours=2)).isoformat(),
        "reason": "HIDDEN-SUMMARY theme upgrade by Shop agency",
    }
    assert api.post(f"{API}/maintenance", json=window).status_code == 201
    background = window | {
        "system": "erp",
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
    }
    assert api.post(f"{API}/maintenance", json=background).status_code == 201
    pages = _public(api)
    _leaks_nothing(pages)
    status = json.loads(pages["/feed.json"])["_status"]
    assert status["state"] == "maintenance"
    assert status["headline"].startswith("Planowane prace serwisowe: zamówienia są przyjmowane")
    assert [p["text"].split(":")[1].strip()[:5] for p in status["planned"]] == ["zamów", "sklep"]
    assert "Planowane prace serwisowe: sklep może być" in pages[""]
