"""The index in memory holds the live period; older history is answered from the store."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.db.tables import events as events_table
from app.diagnosis import service as diagnosis_service
from app.events.service import store_events
from app.main import create_app
from app.settings import Settings
from graph.model import Event
from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.conftest import ADMIN_TOKEN

URL = "/api/v1/workspaces/acme"


def _order(number: int, at: datetime, *, reached_oms: bool) -> list[dict[str, Any]]:
    shop = {
        "id": f"shop-{number}",
        "time": at.isoformat(),
        "flow": "order",
        "kind": "seen",
        "system": "shop",
        "refs": {"shop": str(number)},
        "state": "processing",
    }
    oms = {
        **shop,
        "id": f"oms-{number}",
        "time": (at + timedelta(minutes=2)).isoformat(),
        "system": "oms",
        "refs": {"oms": f"BL-{number}", "shop": str(number)},
        "state": "new",
    }
    return [shop, oms] if reached_oms else [shop]


def test_old_history_leaves_memory_and_is_answered_from_the_store(
    client: TestClient, workspace: str
) -> None:
    now = datetime.now(UTC)
    month_ago = now - timedelta(days=30)
    old = _order(1, month_ago, reached_oms=False)  # stuck a month ago, quiet since
    recent = _order(2, now - timedelta(minutes=3), reached_oms=True)
    assert client.post(f"{URL}/events", json={"events": old + recent}).status_code == 202

    assert client.get(f"{URL}/diagnosis").json()["suspects"] == []
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    live, _lock = runtime.indexes.index("acme")
    assert len(live) == len(recent)  # the month-old journey is not held in memory

    # A trace of the old order, and a diagnosis as of then, read the store.
    trace = client.get(f"{URL}/traces/shop/1")
    assert trace.status_code == 200
    assert [e["id"] for e in trace.json()["events"]] == ["shop-1"]
    assert trace.json()["failure"]["link"] == {"flow": "order", "from": "shop", "to": "oms"}
    then = (month_ago + timedelta(hours=2)).isoformat()
    past = client.get(f"{URL}/diagnosis", params={"as_of": then}).json()["suspects"]
    assert [(s["link"]["from"], s["link"]["to"], s["affected"]) for s in past] == [
        ("shop", "oms", 1)
    ]
    # A window reaching back a month reads the store too.
    wide = client.get(f"{URL}/diagnosis", params={"window_seconds": 40 * 86400}).json()
    assert [s["affected"] for s in wide["suspects"]] == [1]
    assert client.get(f"{URL}/traces/shop/404").status_code == 404


def test_a_restart_loads_only_the_live_period(client: TestClient, workspace: str) -> None:
    now = datetime.now(UTC)
    ages = [n + 0.5 for n in range(20)]  # an order every day for 20 days...
    events = [
        e
        for n, age in enumerate(ages)
        for e in _order(n, now - timedelta(days=age), reached_oms=True)
    ]
    events += _order(99, now - timedelta(minutes=3), reached_oms=True)  # ...and one just now
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settle()  # the index was fed; now start again from the store, as a restart does
    runtime.indexes.drop("acme")
    live, _lock = runtime.indexes.index("acme")
    assert len(live) == 2 * 2  # the orders of the last 1.25 days (ARBITER_INDEX_LIVE_DAYS)


def test_a_workspace_whose_traffic_stopped_keeps_its_last_days_live(
    client: TestClient, workspace: str
) -> None:
    last = datetime.now(UTC) - timedelta(days=30)
    events = [
        e for n in range(5) for e in _order(n, last - timedelta(days=0.9 * n), reached_oms=True)
    ]
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    live, _lock = client.app.state.runtime.indexes.index("acme")  # type: ignore[attr-defined]
    assert len(live) == 2 * 2  # the orders of its last 1.25 days, not nothing


def test_a_window_reaching_before_the_live_period_extends_the_index(
    client: TestClient, workspace: str
) -> None:
    now = datetime.now(UTC)
    stuck = [
        e
        for n in range(6)
        for e in _order(n, now - timedelta(days=0.9 * n + 0.5), reached_oms=False)
    ]
    assert client.post(f"{URL}/events", json={"events": stuck}).status_code == 202
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settle()
    runtime.indexes.drop("acme")  # as after a restart: the 1.25 days up to the newest event
    assert len(runtime.indexes.index("acme")[0]) == 2
    week = client.get(f"{URL}/diagnosis", params={"window_seconds": 6 * 86400}).json()
    assert [s["affected"] for s in week["suspects"]] == [6]
    assert len(runtime.indexes.index("acme")[0]) == 6  # kept extended while it is asked


def _stuck_for_days(client: TestClient) -> datetime:
    """An order stuck in the shop for 5 days, quiet since, and one that went through just now;
    the moment they were posted."""
    now = datetime.now(UTC)
    stuck = _order(1, now - timedelta(days=5), reached_oms=False)
    healthy = _order(2, now - timedelta(minutes=3), reached_oms=True)
    assert client.post(f"{URL}/events", json={"events": stuck + healthy}).status_code == 202
    return now


def test_a_stuck_order_older_than_the_live_period_is_diagnosed_after_a_restart(
    client: TestClient,
    workspace: str,
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = _stuck_for_days(client)
    as_of = {"as_of": now.isoformat()}
    # The process that saw the order come in holds it (as here, once a question reached back
    # to it) and keeps it through every trim of its index while it stays stuck.
    week = client.get(f"{URL}/diagnosis", params={**as_of, "window_seconds": 6 * 86400})
    assert [s["affected"] for s in week.json()["suspects"]] == [1]
    before = client.get(f"{URL}/diagnosis", params=as_of).json()["suspects"]
    assert [(s["link"]["from"], s["affected"]) for s in before] == [("shop", 1)]
    monkeypatch.setattr(diagnosis_service, "TRIM_SECONDS", 0.0)  # an hour on: trimmed
    assert client.get(f"{URL}/diagnosis", params=as_of).json()["suspects"] == before
    client.app.state.runtime.settle()  # type: ignore[attr-defined]

    # The restart: a new service on the same store, whose index holds the live period.
    with TestClient(
        create_app(settings_factory()), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as restarted:
        after = restarted.get(f"{URL}/diagnosis", params=as_of).json()["suspects"]
        assert after == before
        # Once the order moves on, it is live again, not held open from before.
        done = _order(1, now - timedelta(minutes=1), reached_oms=True)[1]
        assert restarted.post(f"{URL}/events", json={"events": [done]}).status_code == 202
        assert restarted.get(f"{URL}/diagnosis").status_code == 200
        runtime = restarted.app.state.runtime  # type: ignore[attr-defined]
        assert runtime.indexes.index("acme")[0].open_before(now - timedelta(days=2)) == []


def test_events_another_process_stored_are_caught_up_whichever_workspace_wrote_between(
    client: TestClient, workspace: str
) -> None:
    assert client.put("/api/v1/workspaces/beta").status_code == 201
    assert client.put("/api/v1/workspaces/beta/topology", json=CONTRACT_TOPOLOGY).status_code == 200
    now = datetime.now(UTC)
    assert client.post(f"{URL}/events", json={"events": _order(1, now, reached_oms=True)})
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settle()
    live, _lock = runtime.indexes.index("acme")
    assert len(live) == 2

    def elsewhere(workspace_id: str, number: int) -> None:  # not fed to this process's index
        batch = [Event.model_validate(e) for e in _order(number, now, reached_oms=True)]
        with runtime.engine.begin() as connection:
            store_events(connection, workspace_id, batch)

    for round_ in range(3):
        elsewhere("beta", 10 + round_)
        elsewhere("acme", 20 + round_)
        elsewhere("beta", 30 + round_)
        live, _lock = runtime.indexes.index("acme")
        assert len(live) == 2 + 2 * (round_ + 1), round_
    with runtime.engine.connect() as connection:
        beta = connection.execute(
            events_table.select().where(events_table.c.workspace_id == "beta")
        ).all()
    assert len(beta) == 12
    assert (
        live.trace(runtime.indexes.topology("acme"), "shop", "10", as_of=now + timedelta(hours=1))
        is None
    )  # beta's order 10 is not acme's


def test_open_journeys_recorded_after_the_snapshot_are_read_back_with_it(
    client: TestClient,
    workspace: str,
    settings_factory: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = _stuck_for_days(client)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    as_of = {"as_of": now.isoformat()}
    assert client.get(f"{URL}/diagnosis", params=as_of).json()["suspects"] == []
    runtime.settle()
    runtime.indexes.save_all()  # the snapshot: the live period, nothing held open
    monkeypatch.setattr(runtime.indexes, "save", lambda *_args: None)  # none written after
    week = client.get(f"{URL}/diagnosis", params={**as_of, "window_seconds": 6 * 86400})
    assert [s["affected"] for s in week.json()["suspects"]] == [1]
    monkeypatch.setattr(diagnosis_service, "TRIM_SECONDS", 0.0)  # the trim records it open
    before = client.get(f"{URL}/diagnosis", params=as_of).json()["suspects"]
    assert [(s["link"]["from"], s["affected"]) for s in before] == [("shop", 1)]

    def rebuild(*_args: object) -> None:
        raise AssertionError("rebuilt from the store instead of loaded from the snapshot")

    monkeypatch.setattr(diagnosis_service.IndexRegistry, "_load", rebuild)
    with TestClient(
        create_app(settings_factory()), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as restarted:
        assert restarted.get(f"{URL}/diagnosis", params=as_of).json()["suspects"] == before
