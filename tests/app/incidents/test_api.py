"""The incident API: filters, paging, acknowledge, notes, and the errors it answers."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings

__all__ = ["arbiter", "arbiter_settings"]  # fixtures (tests.app.incidents.fixtures)


@pytest.fixture
def two_incidents(arbiter: Arbiter) -> dict[str, dict[str, Any]]:
    """The OMS misses shop orders (BaseLinker's) while the ERP answers 503 (ERP partner's)."""
    world = arbiter.world
    world.busy(30, start=0, every=60)
    for i in range(8):
        world.order(30_000 + i, at=1800 + i * 60, pulls=(), oms_after=None)
        world.order(40_000 + i, at=1800 + i * 60, pushes=(503, 503), erp_after=None)
    result = arbiter.evaluate(4000)
    assert len(result.opened) == 2
    return {i["link"]["from"] + ":" + i["link"]["to"]: i for i in arbiter.incidents()}


def test_filters(arbiter: Arbiter, two_incidents: dict[str, dict[str, Any]]) -> None:
    shop_oms, oms_erp = two_incidents["shop:oms"], two_incidents["oms:erp"]

    def ids(**params: Any) -> list[int]:
        return [i["id"] for i in arbiter.incidents(**params)]

    assert ids() == [oms_erp["id"], shop_oms["id"]] or ids() == [shop_oms["id"], oms_erp["id"]]
    assert ids(link="order:oms:erp") == [oms_erp["id"]]
    assert ids(link="order:shop:oms") == [shop_oms["id"]]
    assert ids(link="stock:erp:oms") == []
    assert ids(party="ERP partner") == [oms_erp["id"]]
    assert ids(party="baselinker") == [shop_oms["id"]]  # parties match case-insensitively
    assert ids(status="resolved") == []
    assert len(ids(status="open")) == 2
    assert ids(until="2026-11-25T10:30:00Z") == []  # none was opened yet
    assert len(ids(since="2026-11-25T11:00:00Z")) == 2  # both still open then

    first = arbiter.client.get(f"{arbiter.base}/incidents", params={"limit": 1}).json()
    assert len(first["incidents"]) == 1
    second = arbiter.client.get(
        f"{arbiter.base}/incidents", params={"limit": 1, "cursor": first["next_cursor"]}
    ).json()
    assert len(second["incidents"]) == 1
    assert second["next_cursor"] is None
    assert {first["incidents"][0]["id"], second["incidents"][0]["id"]} == set(ids())


def test_acknowledge_and_notes(arbiter: Arbiter, two_incidents: dict[str, dict[str, Any]]) -> None:
    incident_id = two_incidents["oms:erp"]["id"]
    url = f"{arbiter.base}/incidents/{incident_id}"

    acked = arbiter.client.post(f"{url}/acknowledge", json={"by": "Anna (on call)"})
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by"] == "Anna (on call)"
    assert acked.json()["acknowledged_at"] is not None
    again = arbiter.client.post(f"{url}/acknowledge")  # no body: the first acknowledgement stands
    assert again.status_code == 200
    assert again.json()["acknowledged_by"] == "Anna (on call)"

    note = arbiter.client.post(f"{url}/notes", json={"text": "ERP partner ticket #4411 opened"})
    assert note.status_code == 201, note.text
    assert note.json()["author"] == "admin"
    assert (
        arbiter.client.post(f"{url}/notes", json={"text": "2nd", "author": "Bob"}).status_code
        == 201
    )

    detail = arbiter.incident(incident_id)
    assert [n["text"] for n in detail["notes"]] == ["ERP partner ticket #4411 opened", "2nd"]
    assert [n["author"] for n in detail["notes"]] == ["admin", "Bob"]
    assert [e["kind"] for e in detail["timeline"]] == ["opened", "acknowledged"]
    assert detail["evidence"]["calls"]
    assert detail["deliveries"] == []


def test_errors(arbiter: Arbiter, two_incidents: dict[str, dict[str, Any]]) -> None:
    client, base = arbiter.client, arbiter.base
    incident_id = two_incidents["oms:erp"]["id"]
    assert client.get(f"{base}/incidents/999999").status_code == 404
    assert client.post(f"{base}/incidents/999999/acknowledge").status_code == 404
    assert client.post(f"{base}/incidents/999999/notes", json={"text": "x"}).status_code == 404
    assert client.get("/api/v1/workspaces/nobody/incidents").status_code == 404
    assert client.get(f"{base}/incidents/abc").status_code == 422

    blank = client.post(f"{base}/incidents/{incident_id}/notes", json={"text": "   "})
    assert blank.status_code == 422
    assert blank.json()["detail"][0]["loc"][:2] == ["body", "text"]
    bad_link = client.get(f"{base}/incidents", params={"link": "order-oms-erp"})
    assert bad_link.status_code == 422
    assert bad_link.json()["detail"][0]["loc"] == ["query", "link"]
    assert client.get(f"{base}/incidents", params={"status": "closed"}).status_code == 422
    assert client.get(f"{base}/incidents", params={"cursor": "!!"}).status_code == 422

    unauthenticated = client.get(f"{base}/incidents", headers={"Authorization": "Bearer nope"})
    assert unauthenticated.status_code == 401


def test_another_workspace_token_sees_nothing(
    arbiter: Arbiter, two_incidents: dict[str, dict[str, Any]]
) -> None:
    client = arbiter.client
    assert client.put("/api/v1/workspaces/other").status_code == 201
    token = client.post("/api/v1/workspaces/other/tokens", json={"name": "t"})
    assert token.status_code in (200, 201), token.text
    secret = token.json()["token"]
    response = client.get(
        f"{arbiter.base}/incidents", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code in (403, 404)


def test_deleting_the_workspace_deletes_its_incidents(
    arbiter: Arbiter, two_incidents: dict[str, dict[str, Any]]
) -> None:
    assert arbiter.client.delete(arbiter.base).status_code == 204
    assert arbiter.client.put(arbiter.base).status_code == 201
    assert arbiter.incidents() == []
