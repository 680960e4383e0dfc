"""The evaluator as the running service uses it: on a schedule and soon after new events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from app.incidents.evaluator import incident_evaluator, incident_state
from app.main import BACKGROUND, create_app
from app.settings import Settings
from tests.app.incidents.fixtures import QUIET
from tests.app.incidents.test_lifecycle import erp_outage
from tests.conftest import ADMIN_TOKEN, eventually
from tests.scenarios import STANDARD_TOPOLOGY_JSON, World


def test_the_service_runs_the_evaluator() -> None:
    assert incident_evaluator in BACKGROUND


def test_new_events_are_evaluated_soon_and_the_schedule_keeps_going(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(
        **QUIET | {"incident_interval_seconds": 0.3, "incident_debounce_seconds": 0.05}
    )
    app = create_app(settings)
    runtime = app.state.runtime
    # A world that happened over the last three hours of the real clock.
    world = World(start=datetime.now(UTC) - timedelta(hours=3))
    world.busy(60, start=0, every=60)
    erp_outage(world, start=1800, orders=10)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        assert client.put("/api/v1/workspaces/acme").status_code == 201
        assert (
            client.put("/api/v1/workspaces/acme/topology", json=STANDARD_TOPOLOGY_JSON).status_code
            == 200
        )
        response = client.post(
            "/api/v1/workspaces/acme/events", json={"events": [e.to_json() for e in world.events]}
        )
        assert response.status_code == 202

        def opened() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = client.get("/api/v1/workspaces/acme/incidents").json()[
                "incidents"
            ]
            return found

        [incident] = eventually(opened, 15, "the incident opens", every=0.05)
        assert incident["link"] == {"flow": "order", "from": "oms", "to": "erp"}
        results = incident_state(runtime).results
        first = results["acme"].as_of
        eventually(
            lambda: results["acme"].as_of > first, 15, "the schedule evaluates again", every=0.05
        )
        assert results["acme"].ok
        assert len(opened()) == 1
