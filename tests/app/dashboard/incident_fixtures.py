"""Fixtures of the incident and SLA report page tests.

``quiet_client``: a fresh service whose background evaluator is off, so incidents open only
when a test evaluates. ``opened``: the dashboard's fault scenario fed and evaluated a minute
ago with :func:`~app.incidents.evaluator.evaluate_workspace`: one incident on ``order oms→erp``.
``empty_workspace``: ``quiet_client`` signed in, with a workspace ``empty`` that has nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.incidents.evaluator import evaluate_workspace
from app.main import create_app
from app.runtime import Runtime
from app.settings import Settings
from tests.app.dashboard.conftest import WORKSPACE, admin_api, feed, sign_in


@dataclass
class Opened:
    client: TestClient
    runtime: Runtime
    incident: int
    as_of: datetime

    @property
    def page(self) -> str:
        return f"/w/{WORKSPACE}/incidents/{self.incident}"

    def api_incident(self) -> dict[str, Any]:
        answer = admin_api(self.client).get(f"/api/v1/workspaces/acme/incidents/{self.incident}")
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found


@pytest.fixture
def quiet_client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A fresh service whose incidents open only when a test evaluates."""
    settings = settings_factory(
        demo=False, incident_interval_seconds=0, public_url="https://arbiter.example"
    )
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


@pytest.fixture
def opened(quiet_client: TestClient) -> Opened:
    """The fault scenario fed and evaluated a minute ago: one incident on ``order oms→erp``."""
    as_of = datetime.now(UTC) - timedelta(minutes=1)
    feed(admin_api(quiet_client), now=as_of)
    runtime: Runtime = quiet_client.app.state.runtime  # type: ignore[attr-defined]
    result = evaluate_workspace(runtime, WORKSPACE, as_of)
    assert result.ok, result.error
    assert len(result.opened) == 1, result
    return Opened(quiet_client, runtime, result.opened[0], as_of)


@pytest.fixture
def empty_workspace(quiet_client: TestClient) -> TestClient:
    """``quiet_client`` signed in as the admin, with a workspace ``empty`` that has no topology
    and no event yet."""
    admin_api(quiet_client).put("/api/v1/workspaces/empty", json={"name": "Empty"})
    sign_in(quiet_client)
    return quiet_client
