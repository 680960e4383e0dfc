"""Planned maintenance: declared per system through the API, no incident for what it causes
(also while its backlog drains), and its time left out of an incident's SLA downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.maintenance.models import Window
from app.maintenance.service import AFTER_GRACE, is_planned, outside_maintenance
from graph.results import LinkRef, Suspect
from sandbox.topology import demo_topology
from tests.app.status.test_status_page import insert_incident

API = "/api/v1/workspaces/acme"
T0 = datetime(2026, 11, 28, 2, tzinfo=UTC)


@pytest.fixture
def api(client: TestClient) -> TestClient:
    client.put(API, json={"name": "ACME"}).raise_for_status()
    client.put(f"{API}/topology", json=demo_topology()).raise_for_status()
    return client


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "system": "erp",
        "starts_at": T0.isoformat(),
        "ends_at": (T0 + timedelta(hours=2)).isoformat(),
        "reason": "Odoo upgrade",
    } | changes


def test_windows_round_trip(api: TestClient) -> None:
    created = api.post(f"{API}/maintenance", json=_body())
    assert created.status_code == 201, created.text
    window = created.json()
    listed = api.get(
        f"{API}/maintenance",
        params={"since": "2026-11-27T00:00:00Z", "until": "2026-11-29T00:00:00Z"},
    ).json()
    assert [w["id"] for w in listed] == [window["id"]]
    assert api.get(f"{API}/maintenance", params={"since": "2026-11-29T00:00:00Z"}).json() == []
    assert api.delete(f"{API}/maintenance/{window['id']}").status_code == 204
    assert api.delete(f"{API}/maintenance/{window['id']}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"system": "warehouse"}, "system"),
        ({"ends_at": T0.isoformat()}, "ends_at"),
        ({"ends_at": (T0 + timedelta(days=8)).isoformat()}, "ends_at"),
        ({"starts_at": "2026-11-28T02:00:00"}, "starts_at"),
    ],
)
def test_validation_names_the_field(api: TestClient, changes: dict[str, Any], field: str) -> None:
    answer = api.post(f"{API}/maintenance", json=_body(**changes))
    assert answer.status_code == 422, answer.text
    assert [item["loc"][-1] for item in answer.json()["detail"]] == [field]
    assert api.get(f"{API}/maintenance", params={"since": "2026-01-01T00:00:00Z"}).json() == []


WINDOW = Window(id=1, system="erp", starts_at=T0, ends_at=T0 + timedelta(hours=2), created_at=T0)


def _suspect(first_seen: datetime, *, link: tuple[str, str] | None = ("oms", "erp"),
             system: str | None = None) -> Suspect:  # fmt: skip
    ref = LinkRef(flow="order", from_=link[0], to=link[1]) if link else None
    return Suspect.model_construct(link=ref, system=system, links=[], first_seen=first_seen)


def test_a_failure_of_the_system_in_maintenance_is_planned() -> None:
    inside = T0 + timedelta(minutes=10)
    assert is_planned(_suspect(inside), [WINDOW], inside + timedelta(minutes=5))
    assert is_planned(_suspect(inside, link=None, system="erp"), [WINDOW], inside)
    # Another system's failure meanwhile is not the maintenance.
    assert not is_planned(_suspect(inside, link=("shop", "oms")), [WINDOW], inside)
    # The backlog drains for a while after the window ...
    after = WINDOW.ends_at + AFTER_GRACE - timedelta(minutes=1)
    assert is_planned(_suspect(inside), [WINDOW], after)
    # ... but a failure still there past the grace is an incident, as is one begun after.
    assert not is_planned(_suspect(inside), [WINDOW], WINDOW.ends_at + AFTER_GRACE)
    later = WINDOW.ends_at + timedelta(minutes=1)
    assert not is_planned(_suspect(later), [WINDOW], later + timedelta(minutes=1))


def test_maintenance_is_not_downtime() -> None:
    start, stop = T0 - timedelta(hours=1), T0 + timedelta(hours=4)
    spans = outside_maintenance(start, stop, ["oms", "erp"], [WINDOW])
    assert spans == [(start, T0), (WINDOW.ends_at, stop)]
    assert outside_maintenance(start, stop, ["shop", "oms"], [WINDOW]) == [(start, stop)]
    assert outside_maintenance(T0, WINDOW.ends_at, ["erp"], [WINDOW]) == []


def test_the_sla_report_does_not_count_maintenance_as_downtime(api: TestClient) -> None:
    since, until = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)
    opened = datetime(2026, 11, 1, 1, tzinfo=UTC)
    insert_incident(
        api,
        flow="order", from_system="oms", to_system="erp", status="resolved",
        links='[{"flow": "order", "from": "oms", "to": "erp"}]',
        first_failure=opened, opened_at=opened, resolved_at=opened + timedelta(hours=4),
    )  # fmt: skip

    def downtime() -> float:
        report = api.get(
            f"{API}/reports/sla",
            params={"since": since.isoformat(), "until": until.isoformat(), "format": "json"},
        )
        assert report.status_code == 200, report.text
        (link,) = [
            x
            for x in report.json()["links"]
            if (x["link"]["from"], x["link"]["to"]) == ("oms", "erp")
        ]
        return float(link["downtime_seconds"])

    assert downtime() == 4 * 3600
    window = _body(
        starts_at=(opened + timedelta(hours=1)).isoformat(),
        ends_at=(opened + timedelta(hours=2)).isoformat(),
    )
    api.post(f"{API}/maintenance", json=window).raise_for_status()
    assert downtime() == 3 * 3600
