"""Odd query values and paths on the dashboard's pages: a page or a 4xx, never a 5xx."""

from __future__ import annotations

import itertools

from fastapi.testclient import TestClient

from tests.app.dashboard.conftest import sign_in

ROUTES = [
    "/w/acme",
    "/w/acme/live",
    "/w/acme/incidents",
    "/w/acme/stock",
    "/w/acme/reports/sla",
    "/w/acme/reports/sla.csv",
    "/w/acme/trace",
    "/w/acme/suspects/order/oms/erp",
]
PARAMS = ["as_of", "window", "since", "until", "q", "ns", "id", "status", "cursor"]
VALUES = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31",
    "1e400",
    "99999999999999999999999",
    "nan",
    "<script>",
    "",
]
PATHS = [
    "/w/acme/incidents/99999999999999999999",
    "/w/acme/incidents/-1",
    "/w/acme/suspects/order/a/b/c/d",
    "/w/ACME",
    "/w/" + "a" * 300,
]


def test_no_page_answers_5xx(fed: TestClient) -> None:
    sign_in(fed)
    failed = [
        (route, name, value, answer.status_code)
        for route, name, value in itertools.product(ROUTES, PARAMS, VALUES)
        if (answer := fed.get(route, params={name: value})).status_code >= 500
    ]
    failed += [
        (path, answer.status_code) for path in PATHS if (answer := fed.get(path)).status_code >= 500
    ]
    assert failed == []
