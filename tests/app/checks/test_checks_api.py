"""Checks as resources: PUT/GET/run/DELETE, validation naming the field, each run stored as
Arbiter's call to the target, and the warnings the runs feed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from sandbox.storefront import Storefront
from sandbox.topology import demo_topology

BASE = "/api/v1/workspaces/acme"


@pytest.fixture
def api(client: TestClient) -> TestClient:
    assert client.put(BASE, json={"name": "ACME"}).status_code == 201
    assert client.put(f"{BASE}/topology", json=demo_topology()).status_code in (200, 201)
    return client


def _page(shop: Storefront, path: str, **fields: Any) -> dict[str, Any]:
    url = f"http://127.0.0.1:{shop.ports['storefront']}{path}"
    return {"kind": "http", "target": "shop", "url": url, **fields}


def _run(api: TestClient, check_id: str) -> dict[str, Any]:
    response = api.post(f"{BASE}/checks/{check_id}/run")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_check_round_trip_and_its_event(api: TestClient, storefront_thread: Storefront) -> None:
    body = _page(storefront_thread, "/checkout", page="checkout", expect_text="Place order")
    created = api.put(f"{BASE}/checks/checkout", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["interval_seconds"] == 300
    assert created.json()["last"] is None
    assert api.put(f"{BASE}/checks/checkout", json=body).status_code == 200

    passed = _run(api, "checkout")
    assert passed["last"]["ok"] is True
    assert passed["last"]["status"] == 200
    storefront_thread.faults.add("checkout_500", "shop")
    failed = _run(api, "checkout")
    assert failed["last"]["status"] == 500
    assert failed["last"]["ok"] is False

    assert not _warnings(api, "page_failing")  # one failed run may be a blip
    _run(api, "checkout")
    (warning,) = _warnings(api, "page_failing")
    assert warning["severity"] == "critical"
    assert warning["message"] == (
        "check checkout of shop failed 2 times in a row: checkout page answered 500"
    )

    events = api.get(f"{BASE}/events", params={"flow": "order"}).json()["events"]
    calls = [e for e in events if e["system"] == "arbiter" and e.get("data", {}).get("check")]
    assert [(e["target"], e["outcome"]["status"]) for e in calls] == [
        ("shop", 200),
        ("shop", 500),
        ("shop", 500),
    ]
    assert calls[1]["outcome"]["error"] == "checkout page answered 500"
    assert calls[1]["data"]["page"] == "checkout"

    assert [c["id"] for c in api.get(f"{BASE}/checks").json()] == ["checkout"]
    assert api.delete(f"{BASE}/checks/checkout").status_code == 204
    assert not _warnings(api, "page_failing")  # no warning outlives its check
    assert api.get(f"{BASE}/checks/checkout").status_code == 404
    assert api.post(f"{BASE}/checks/checkout/run").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "http", "target": "shop"}, "url"),
        ({"kind": "http", "target": "shop", "url": "ftp://shop.test/"}, "url"),
        ({"kind": "http", "target": "nobody", "url": "http://shop.test/"}, "target"),
        ({"kind": "http", "target": "shop", "url": "http://s/", "host": "s"}, "host"),
        (
            {"kind": "http", "target": "shop", "url": "http://s/", "interval_seconds": 29},
            "interval_seconds",
        ),
        ({"kind": "tls", "target": "shop"}, "host"),
        ({"kind": "smtp", "target": "shop", "host": "m", "expect_text": "x"}, "expect_text"),
        ({"kind": "dns", "target": "shop", "host": "s", "port": 53}, "port"),
        ({"kind": "ping", "target": "shop", "host": "s"}, "kind"),
        ({"kind": "dns", "target": "arbiter", "host": "s"}, "target"),
    ],
)
def test_validation_names_the_field(api: TestClient, body: dict[str, Any], field: str) -> None:
    response = api.put(f"{BASE}/checks/bad", json=body)
    assert response.status_code == 422, response.text
    assert [item["loc"][-1] for item in response.json()["detail"]] == [field]
    assert api.get(f"{BASE}/checks/bad").status_code == 404


def test_certificate_expiring_warns(api: TestClient, storefront_thread: Storefront) -> None:
    port = storefront_thread.ports["storefront_tls"]
    check = {"kind": "tls", "target": "shop", "host": "localhost", "port": port}
    api.put(f"{BASE}/checks/tls", json=check | {"verify_tls": False}).raise_for_status()
    fine = _run(api, "tls")
    assert 89 < fine["days_left"] <= 90
    assert not _warnings(api, "certificate_expiring")
    storefront_thread.faults.add("cert_expiring", "shop", params={"days": 10})
    assert 9 < _run(api, "tls")["days_left"] <= 10
    (warning,) = _warnings(api, "certificate_expiring")
    assert warning["system"] == "shop"
    assert warning["severity"] == "warning"
    assert warning["message"].startswith("the TLS certificate of localhost expires in 10 days")


def test_slow_checkout_warns_by_the_users_factor(
    api: TestClient, storefront_thread: Storefront
) -> None:
    body = _page(storefront_thread, "/checkout", page="checkout", slow_factor=3)
    api.put(f"{BASE}/checks/checkout", json=body).raise_for_status()
    for _ in range(5):
        assert _run(api, "checkout")["slow"] is False
    usual = _run(api, "checkout")["usual_ms"]
    assert usual is not None
    assert usual < 100
    storefront_thread.faults.add("slow_checkout", "shop", params={"delay_seconds": 0.4})
    slow = _run(api, "checkout")
    assert slow["slow"] is True
    assert slow["last"]["ok"] is True
    (warning,) = _warnings(api, "page_slow")
    assert warning["message"].startswith("the checkout page took 0.4 s")
    storefront_thread.faults.clear()
    after = _run(api, "checkout")
    assert after["slow"] is False
    assert after["usual_ms"] == slow["usual_ms"]  # a slow run does not become the usual time
    assert not _warnings(api, "page_slow")


def _warnings(api: TestClient, kind: str) -> list[dict[str, Any]]:
    found = api.get(f"{BASE}/warnings").json()["warnings"]
    return [w for w in found if w["kind"] == kind]
