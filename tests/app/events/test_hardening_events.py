"""What is stored can be read back: bad values are refused naming the field, and one unreadable
row (stored before the checks, or altered in the store) is skipped, never fatal."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from app.db.tables import event_refs, events
from app.diagnosis import warmup
from app.events import models as event_models
from app.telemetry import metrics
from tests.app.dashboard.conftest import sign_in

EVENTS = "/api/v1/workspaces/acme/events"
NOW = datetime.now(UTC).replace(microsecond=0)


def seen(**overrides: Any) -> dict[str, Any]:
    event = {
        "id": "e-1",
        "time": (NOW - timedelta(minutes=5)).isoformat(),
        "flow": "order",
        "kind": "seen",
        "system": "shop",
        "refs": {"shop": "100045"},
    }
    event.update(overrides)
    return event


def post(client: TestClient, batch: list[dict[str, Any]]) -> Any:
    """POST as JSON with \\u escapes: lone surrogates travel as an attacker sends them."""
    body = json.dumps({"events": batch})
    return client.post(EVENTS, content=body, headers={"content-type": "application/json"})


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"k": value}
    return value


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"data": {"k": "\udfff"}}, ["data", "k"]),
        ({"data": {"\ud800": 1}}, ["data", "?"]),
        ({"id": "e\x00"}, ["id"]),
        ({"refs": {"shop": "100\x00045"}}, ["refs", "shop"]),
        ({"state": "x\x00"}, ["state"]),
        ({"data": {"n": 2**64}}, ["data", "n"]),
        ({"quantity": 2**70}, ["quantity"]),
        ({"data": nested(40)}, ["data"]),
        ({"time": "0001-01-01T00:00:00+01:00"}, ["time"]),
        ({"time": "9999-12-31T23:59:59-01:00"}, ["time"]),
        ({"time": "1900-01-01T00:00:00Z"}, ["time"]),
    ],
)
def test_unstorable_values_are_422_naming_the_field(
    client: TestClient, workspace: str, overrides: dict[str, Any], loc: list[Any]
) -> None:
    response = post(client, [seen(**overrides)])
    assert response.status_code == 422, response.text
    locs = [item["loc"][3:] for item in response.json()["detail"]]
    assert any(found[: len(loc)] == loc for found in locs), locs
    assert client.get(EVENTS).json()["events"] == []


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_nesting_beyond_the_parser_is_422(
    client: TestClient, workspace: str, content_type: str
) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    body = json.dumps(seen()).replace('"refs"', f'"data": {{"x": {deep}}}, "refs"')
    if content_type == "application/json":
        body = f'{{"events": [{body}]}}'
    response = client.post(EVENTS, content=body, headers={"content-type": content_type})
    assert response.status_code == 422, response.text


def _poison(client: TestClient) -> None:
    """A row as an older release stored it: its body holds a lone surrogate."""
    engine = client.app.state.runtime.engine  # type: ignore[attr-defined]
    body = json.dumps(seen(id="poison", data={"k": "\udfff"}))
    assert "\\udfff" in body
    with engine.begin() as connection:
        seq = connection.execute(
            insert(events)
            .values(
                workspace_id="acme",
                event_id="poison",
                time=NOW - timedelta(minutes=4),
                flow="order",
                kind="seen",
                system="shop",
                target=None,
                body=body,
                received_at=NOW,
            )
            .returning(events.c.seq)
        ).scalar_one()
        connection.execute(
            insert(event_refs).values(
                seq=seq,
                workspace_id="acme",
                namespace="shop",
                value="100045",
                time=NOW - timedelta(minutes=4),
            )
        )


READ_ROUTES = [
    EVENTS,
    EVENTS + "?ref=shop:100045",
    "/api/v1/workspaces/acme/diagnosis",
    "/api/v1/workspaces/acme/traces/shop/100045",
    "/api/v1/workspaces/acme/warnings",
    "/api/v1/workspaces/acme/reports/sla",
    "/api/v1/workspaces/acme/reports/sla?format=csv",
    "/api/v1/workspaces/acme/incidents",
]
DASHBOARD_ROUTES = [
    "/w/acme",
    "/w/acme/live",
    "/w/acme/incidents",
    "/w/acme/stock",
    "/w/acme/reports/sla",
    "/w/acme/trace?ns=shop&id=100045",
    "/w/acme/trace?q=100045",
]


def _unreadable_count() -> float:
    value = metrics.REGISTRY.get_sample_value(
        "arbiter_unreadable_events_total", {"workspace": "acme"}
    )
    return value or 0.0


def test_an_unreadable_row_is_skipped_and_counted(client: TestClient, workspace: str) -> None:
    assert client.post(EVENTS, json={"events": [seen()]}).status_code == 202
    _poison(client)
    event_models._reported.clear()  # the same (workspace, seq) may be another test's store
    before = _unreadable_count()
    for route in READ_ROUTES:
        response = client.get(route)
        assert response.status_code < 500, (route, response.text)
    listed = client.get(EVENTS).json()["events"]
    assert [e["id"] for e in listed] == ["e-1"]
    trace = client.get("/api/v1/workspaces/acme/traces/shop/100045")
    assert trace.status_code == 200
    assert sign_in(client).status_code == 200  # followed to the home page
    for route in DASHBOARD_ROUTES:
        response = client.get(route)
        assert response.status_code < 500, (route, response.text[:300])
    assert _unreadable_count() > before


def test_warm_up_goes_on_after_a_workspace_that_fails(
    client: TestClient, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert client.put("/api/v1/workspaces/zeta", json={"name": "Z"}).status_code == 201
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    warmed: list[str] = []

    def diagnose(workspace_id: str, *_args: Any) -> None:
        if workspace_id == "acme":
            raise RuntimeError("a poisoned workspace")
        warmed.append(workspace_id)

    monkeypatch.setattr(runtime.indexes, "diagnose", diagnose)
    assert warmup.warm(runtime) == 1
    assert warmed == ["zeta"]


# Mostly text the store takes, sometimes anything at all (lone surrogates, NUL, controls).
_text = st.text(max_size=8) | st.text(st.characters(codec=None, categories=None), max_size=8)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_text, children, max_size=3),
    max_leaves=12,
)
_times = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.timezones()
) | st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.timezones()
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=_json,
    ref=_text,
    event_id=_text,
    state=st.none() | _text,
    moment=st.none() | _times,
)
def test_whatever_the_api_accepts_every_read_route_answers(
    client: TestClient,
    workspace: str,
    data: Any,
    ref: str,
    event_id: str,
    state: str | None,
    moment: datetime | None,
) -> None:
    event = seen(id=event_id or "x", refs={"shop": ref or "r"}, data={"v": data})
    if state is not None:
        event["state"] = state
    if moment is not None:
        event["time"] = moment.isoformat()
    posted = post(client, [event])
    assert posted.status_code < 500, posted.text
    routes = list(READ_ROUTES)
    if posted.status_code == 202:
        routes.append(f"/api/v1/workspaces/acme/traces/shop/{quote(ref or 'r', safe='')}")
        routes.append(f"{EVENTS}?ref=shop:{quote(ref or 'r', safe='')}")
        routes.append(f"/w/acme/trace?ns=shop&id={quote(ref or 'r', safe='')}")
        routes.append(f"/w/acme/trace?q={quote(ref or 'r', safe='')}")
    if "arbiter_session" not in client.cookies:
        sign_in(client)  # the dashboard's pages are read with a session
    routes.append("/w/acme")
    for route in routes:
        response = client.get(route)
        assert response.status_code < 500, (route, response.text[:300])
