"""Connector reports made in a worker are read by the API processes, through PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.workers.reports import SharedConnectorStatuses
from tests.app.workers.test_leases import add_workspaces

pytestmark = pytest.mark.postgres


@pytest.fixture
def worker_side(engine: Engine) -> Iterator[SharedConnectorStatuses]:
    statuses = SharedConnectorStatuses(engine, holds=lambda _workspace: True)
    try:
        yield statuses
    finally:
        statuses.close()


def test_a_report_made_in_a_worker_is_read_by_an_api_process(
    engine: Engine, worker_side: SharedConnectorStatuses
) -> None:
    add_workspaces(engine, "acme")
    worker_side.record("acme", "shop", {"rate_limit": {"remaining": 3}, "webhook_disabled": True})
    worker_side.record("acme", "shop", {"last_error": None})  # merged, as in one process
    worker_side.record("gone", "shop", {"last_error": "x"})  # no such workspace: skipped
    worker_side.flush()
    api_side = SharedConnectorStatuses(engine, holds=lambda _workspace: False)
    try:
        shop = api_side.of("acme")["shop"]
        assert shop["rate_limit"] == {"remaining": 3}
        assert shop["webhook_disabled"] is True
        assert "last_error" in shop
        assert api_side.of("gone") == {}
        assert worker_side.of("acme") == {"shop": shop}  # the holder reads its own memory
    finally:
        api_side.close()
