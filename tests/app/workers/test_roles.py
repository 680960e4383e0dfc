"""What each role runs: `all` everything (leased on PostgreSQL), `api` only the API."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, select
from typer.testing import CliRunner

from app.cli import cli
from app.incidents.evaluator import incident_state
from app.main import create_app
from app.settings import Settings
from app.workers.leases import holders
from app.workers.scope import LeasedScope
from app.workers.tables import workers
from tests.conftest import ADMIN_TOKEN, eventually, only_postgres
from tests.scenarios import CONTRACT_EVENTS, STANDARD_TOPOLOGY_JSON

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def task_names() -> set[str]:
    return {task.get_name() for task in asyncio.all_tasks()}


def registered_workers(client: TestClient) -> list[str]:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        return [row.role for row in connection.execute(select(workers))]


@contextlib.contextmanager
def holding_acme(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """A process of the default role (leases renewed every 0.2 s) with the workspace acme."""
    app = create_app(settings_factory(lease_renew_seconds=0.2))
    with TestClient(app, headers=HEADERS) as client:
        client.put("/api/v1/workspaces/acme").raise_for_status()
        yield client


def wait_for_the_lease(scope: Any) -> None:
    eventually(lambda: scope.holds("acme"), 15, "the lease on acme", every=0.05)


def test_all_holds_every_workspace_alone_or_through_leases_on_postgresql(
    settings_factory: Callable[..., Settings], database_url: str
) -> None:
    with holding_acme(settings_factory) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        if database_url.startswith("sqlite"):
            assert not isinstance(runtime.scope, LeasedScope)
            assert runtime.scope.holds("acme")
        else:
            assert isinstance(runtime.scope, LeasedScope)
            wait_for_the_lease(runtime.scope)
            assert registered_workers(client) == ["all"]
        names = client.portal.call(task_names)  # type: ignore[union-attr]
        assert {"arbiter-pollers", "arbiter-incident-evaluator"} <= names
    if not database_url.startswith("sqlite"):
        # It handed everything back when it stopped: another process takes over at once.
        engine = create_engine(database_url)
        with engine.connect() as connection:
            assert connection.execute(select(workers)).all() == []
            assert set(holders(connection).values()) == {None}
        engine.dispose()


@only_postgres  # the api role is for PostgreSQL
def test_an_api_process_runs_no_background_work_but_tells_open_incidents(
    settings_factory: Callable[..., Settings],
) -> None:
    app = create_app(settings_factory(role="api"))
    with TestClient(app, headers=HEADERS) as client:
        runtime = app.state.runtime
        assert not isinstance(runtime.scope, LeasedScope)
        names = client.portal.call(task_names)  # type: ignore[union-attr]
        assert not names & {"arbiter-pollers", "arbiter-incident-evaluator", "arbiter-leases"}
        assert registered_workers(client) == []
        client.put("/api/v1/workspaces/acme").raise_for_status()
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "arbiter_open_incidents" in metrics.text


@pytest.mark.parametrize(
    ("command", "environment", "says"),
    [
        (["worker"], {}, "arbiter worker needs PostgreSQL"),
        (["serve"], {"ARBITER_ROLE": "api"}, "ARBITER_ROLE=api needs PostgreSQL"),
        (["serve"], {"ARBITER_ROLE": "worker"}, "run `arbiter worker`"),
    ],
)
def test_the_commands_refuse_a_role_their_store_cannot_have(
    command: list[str], environment: dict[str, str], says: str, tmp_path: object
) -> None:
    env = {"ARBITER_DATA_DIR": str(tmp_path), "ARBITER_DATABASE_URL": "", **environment}
    result = CliRunner().invoke(cli, command, env=env)
    assert result.exit_code == 2
    assert says in result.output


@only_postgres  # one process on SQLite hears its own commits
def test_events_an_api_process_stored_are_evaluated_soon_by_the_holder(
    settings_factory: Callable[..., Settings],
) -> None:
    quick = {"incident_interval_seconds": 3600, "incident_debounce_seconds": 0.05}
    worker = create_app(settings_factory(**quick, lease_renew_seconds=0.2))
    api = create_app(settings_factory(role="api"))
    with TestClient(worker) as _held, TestClient(api, headers=HEADERS) as client:
        client.put("/api/v1/workspaces/acme").raise_for_status()
        client.put("/api/v1/workspaces/acme/topology", json=STANDARD_TOPOLOGY_JSON)
        runtime = worker.state.runtime
        wait_for_the_lease(runtime.scope)
        results = incident_state(runtime).results
        assert "acme" not in results  # no full pass for an hour
        posted = client.post("/api/v1/workspaces/acme/events", json={"events": CONTRACT_EVENTS})
        assert posted.status_code == 202, posted.text
        eventually(lambda: "acme" in results, 15, "acme evaluated", every=0.05)


@only_postgres  # no workers on SQLite
def test_arbiter_workers_lists_who_holds_what(
    settings_factory: Callable[..., Settings], database_url: str
) -> None:
    with holding_acme(settings_factory) as client:
        scope = client.app.state.runtime.scope  # type: ignore[attr-defined]
        wait_for_the_lease(scope)
        result = CliRunner().invoke(cli, ["workers"], env={"ARBITER_DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert scope.worker.id in result.output
    assert "1 workspace + store-wide work: acme" in result.output
