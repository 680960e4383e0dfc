"""Retention: old raw events and webhook deliveries go, in small batches; the rest stays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from app.connections.tables import webhook_deliveries
from app.db import retention
from app.db.tables import event_refs, events
from tests.scenarios import CONTRACT_EVENTS

URL = "/api/v1/workspaces/acme/events"


def _event(n: int, time: datetime) -> dict[str, Any]:
    return {
        **CONTRACT_EVENTS[0],
        "id": f"e-{n}",
        "time": time.isoformat(),
        "refs": {"shop": str(n)},
    }


def test_old_events_and_deliveries_expire_in_batches_and_recent_ones_stay(
    client: TestClient, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.now(UTC)
    old = [_event(n, now - timedelta(days=120, minutes=n)) for n in range(5)]
    recent = [_event(100 + n, now - timedelta(days=10, minutes=n)) for n in range(3)]
    assert client.post(URL, json={"events": old + recent}).status_code == 202
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.begin() as connection:
        for age, delivery in ((100, "old"), (1, "new")):
            connection.execute(
                insert(webhook_deliveries).values(
                    workspace_id="acme", system_id="shop", delivery_id=delivery, headers="{}",
                    body=b"{}", received_at=now - timedelta(days=age),
                )
            )  # fmt: skip
    monkeypatch.setattr(retention, "BATCH", 2)
    commits = runtime.writer.commits
    done = retention.expire(runtime.engine, runtime.writer, days=90)
    assert (done.events, done.deliveries) == (5, 1)
    assert runtime.writer.commits - commits >= 3  # 5 events, 2 a batch: one commit each
    with runtime.engine.connect() as connection:
        ids = sorted(r.event_id for r in connection.execute(select(events.c.event_id)))
        refs = connection.execute(select(func.count()).select_from(event_refs)).scalar_one()
        kept = [r.delivery_id for r in connection.execute(select(webhook_deliveries))]
    assert ids == sorted(e["id"] for e in recent)
    assert refs == len(recent)
    assert kept == ["new"]
    # A second sweep finds nothing; re-posting an expired event stores it again (it is new).
    assert retention.expire(runtime.engine, runtime.writer, days=90) == retention.Expired(0, 0)
    assert client.post(URL, json={"events": old[:1]}).json() == {"accepted": 1, "duplicates": 0}
