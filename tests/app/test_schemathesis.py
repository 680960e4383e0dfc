"""A short schemathesis run over the whole API: random workspace and system ids, random bodies
and parameters, with the admin token; no answer may be a 5xx. (The README shows a longer run.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from app.main import create_app
from app.settings import Settings
from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import CONTRACT_EVENTS

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def api_schema(settings_factory: Callable[..., Settings]) -> Iterator[schemathesis.BaseSchema]:
    """The API on each backend (NUL characters fail only on PostgreSQL)."""
    app = create_app(
        settings_factory(
            background=False,
            demo=False,
            # Every random request carries the right token: no throttling of the run itself.
            auth_failures_per_minute=1_000_000,
        )
    )
    with TestClient(app, headers=AUTH) as client:
        # One real workspace beside the random ids, so that some requests reach the store.
        assert client.put("/api/v1/workspaces/acme", json={}).status_code == 201
        assert client.put("/api/v1/workspaces/acme/topology", json=CONTRACT_TOPOLOGY).is_success
        posted = client.post("/api/v1/workspaces/acme/events", json={"events": CONTRACT_EVENTS})
        assert posted.status_code == 202
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


EXAMPLES_PER_OPERATION = 30
"""About 1,200 requests per backend in some 15 s; the README shows a longer run."""


def test_no_server_errors(api_schema: schemathesis.BaseSchema) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=AUTH)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")
            case.validate_response(response, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # every operation's failure is collected, then reported
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:300]}")
    assert failures == []
