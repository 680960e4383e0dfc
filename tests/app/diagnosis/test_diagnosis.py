from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.diagnosis.warmup import warm
from tests.scenarios import World, oms_id

HOUR = 3600.0


def _post(client: TestClient, world: World) -> None:
    events = [e.to_json() for e in world.events]
    response = client.post("/api/v1/workspaces/acme/events", json={"events": events})
    assert response.status_code == 202, response.text


def _erp_refusing_world() -> World:
    world = World()
    world.busy(20, every=60)
    for n in range(6):
        world.order(n, at=1500 + 60 * n, pushes=(503, 503, 503), erp_after=None)
    return world


def test_diagnosis_names_link_mode_and_party(client: TestClient, workspace: str) -> None:
    world = _erp_refusing_world()
    _post(client, world)
    as_of = world.time(3 * HOUR).isoformat()
    answer = client.get("/api/v1/workspaces/acme/diagnosis", params={"as_of": as_of})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["as_of"].startswith(world.time(3 * HOUR).strftime("%Y-%m-%dT%H:%M:%S"))
    top: dict[str, Any] = body["suspects"][0]
    assert top["link"] == {"flow": "order", "from": "oms", "to": "erp"}
    assert top["system"] is None
    assert (top["mode"], top["responsible"], top["affected"]) == ("unavailable", "ERP partner", 6)
    assert 0 < top["confidence"] <= 1
    assert top["evidence"]["calls"]
    assert {"first_seen", "last_seen", "summary", "healthy"} <= set(top)


def test_before_the_sla_nothing_is_blamed(client: TestClient, workspace: str) -> None:
    world = _erp_refusing_world()
    _post(client, world)
    early = world.time(1500 + 120).isoformat()
    answer = client.get("/api/v1/workspaces/acme/diagnosis", params={"as_of": early})
    assert answer.json()["suspects"] == []


def test_trace_follows_an_order_across_systems(client: TestClient, workspace: str) -> None:
    world = _erp_refusing_world()
    _post(client, world)
    as_of = world.time(3 * HOUR).isoformat()
    trace = client.get(f"/api/v1/workspaces/acme/traces/oms/{oms_id(2)}", params={"as_of": as_of})
    assert trace.status_code == 200, trace.text
    body = trace.json()
    assert body["refs"]["shop"] == ["2"]
    assert [(h["link"]["to"], h["status"]) for h in body["hops"] if h["flow"] == "order"] == [
        ("oms", "ok"),
        ("erp", "failed"),
    ]
    assert body["failure"]["mode"] == "unavailable"
    times = [e["time"] for e in body["events"]]
    assert times == sorted(times)
    healthy = client.get(
        "/api/v1/workspaces/acme/traces/erp/ZK/500001/2026", params={"as_of": as_of}
    )
    assert healthy.status_code == 200, "identifiers with slashes are traced too"
    assert client.get("/api/v1/workspaces/acme/traces/shop/nope").status_code == 404


def test_bad_parameters_and_missing_topology(client: TestClient) -> None:
    client.put("/api/v1/workspaces/acme")
    assert client.get("/api/v1/workspaces/acme/diagnosis").status_code == 409
    assert client.get("/api/v1/workspaces/nope/diagnosis").status_code == 404
    params: list[dict[str, str]] = [
        {"as_of": "2026-11-25T10:00:00"},
        {"window_seconds": "0"},
        {"window_seconds": "x"},
    ]
    for bad in params:
        assert client.get("/api/v1/workspaces/acme/diagnosis", params=bad).status_code == 422


def test_indexes_are_warmed_and_follow_new_events(client: TestClient, workspace: str) -> None:
    world = _erp_refusing_world()
    _post(client, world)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert warm(runtime) == 1
    index, _lock = runtime.indexes.index("acme")
    assert len(index) == len(world.events)
    before = len(world.events)
    added = world.order(900, at=10, pushes=(201,))
    response = client.post(
        "/api/v1/workspaces/acme/events", json={"events": [e.to_json() for e in added]}
    )
    assert response.json() == {"accepted": len(added), "duplicates": 0}
    assert len(runtime.indexes.index("acme")[0]) == before + len(added)


def test_a_second_process_sees_what_the_first_stored(
    client: TestClient, workspace: str, settings_factory: Any
) -> None:
    from app.main import create_app

    other = create_app(settings_factory()).state.runtime
    try:
        world = _erp_refusing_world()
        before = len(other.indexes.index("acme")[0])
        _post(client, world)
        assert len(other.indexes.index("acme")[0]) == before + len(world.events)
    finally:
        other.close()


def test_a_late_commit_below_the_watermark_is_not_missed(
    client: TestClient, workspace: str, database_url: str
) -> None:
    """PostgreSQL can commit a lower sequence number after a higher one was read."""
    import json
    from datetime import UTC, datetime

    from sqlalchemy import insert, text

    from app.db.tables import events

    if not database_url.startswith("postgresql"):
        return  # SQLite commits one writer at a time, in sequence order
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection:  # leave room below for a transaction "in flight"
        connection.execute(text("SELECT setval(pg_get_serial_sequence('events', 'seq'), 5000)"))
    world = _erp_refusing_world()
    _post(client, world)
    index, _lock = runtime.indexes.index("acme")
    late = world.order(901, at=20)[0]
    with runtime.engine.begin() as connection:
        connection.execute(
            insert(events).values(
                seq=100, workspace_id="acme", event_id=late.id, time=late.time,
                flow=late.flow, kind=late.kind, system=late.system, target=late.target,
                body=json.dumps(late.to_json()), received_at=datetime.now(UTC),
            )
        )  # fmt: skip
    count = len(index)
    assert len(runtime.indexes.index("acme")[0]) == count + 1
