"""Retention: raw events and webhook deliveries older than ``ARBITER_RETENTION_DAYS`` go.

Incidents, their notes and notifications, and SLA reports are kept (they live in their own
tables and do not reference events). Deletes run in small batches, each a unit of the store's
writer (:class:`app.db.writer.Writer`): ingest waiting behind one batch waits milliseconds,
never for the whole sweep. An event's refs go with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Connection, Engine, delete, select

from app.background import in_thread, running
from app.connections.tables import webhook_deliveries
from app.db.tables import event_refs, events, workspaces
from app.db.writer import Writer
from app.runtime import Runtime

log = logging.getLogger("arbiter.retention")

BATCH = 2000
"""Rows per delete: a few milliseconds of the writer's time."""

SWEEP_SECONDS = 3600.0


@dataclass(frozen=True)
class Expired:
    events: int
    deliveries: int


def _delete_events(workspace_id: str, cutoff: datetime, connection: Connection) -> int:
    oldest = (
        select(events.c.seq)
        .where(events.c.workspace_id == workspace_id, events.c.time < cutoff)
        .order_by(events.c.time)
        .limit(BATCH)
    )
    seqs = [row.seq for row in connection.execute(oldest)]
    if not seqs:
        return 0
    # Refs explicitly, not only by cascade: SQLite enforces the cascade only on a connection
    # with foreign keys on, and this must hold on any connection.
    connection.execute(delete(event_refs).where(event_refs.c.seq.in_(seqs)))
    connection.execute(delete(events).where(events.c.seq.in_(seqs)))
    return len(seqs)


def _delete_deliveries(cutoff: datetime, connection: Connection) -> int:
    oldest = (
        select(webhook_deliveries.c.seq)
        .where(webhook_deliveries.c.received_at < cutoff)
        .order_by(webhook_deliveries.c.seq)
        .limit(BATCH)
    )
    seqs = [row.seq for row in connection.execute(oldest)]
    if seqs:
        connection.execute(delete(webhook_deliveries).where(webhook_deliveries.c.seq.in_(seqs)))
    return len(seqs)


def expire(engine: Engine, writer: Writer, *, days: float, now: datetime | None = None) -> Expired:
    """Delete events whose time, and deliveries whose arrival, is over ``days`` before ``now``."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    with engine.connect() as connection:
        names = [row.id for row in connection.execute(select(workspaces.c.id))]
    removed_events = removed_deliveries = 0
    for workspace_id in names:
        while True:
            count = writer.run(partial(_delete_events, workspace_id, cutoff))
            removed_events += count
            if count < BATCH:
                break
    while True:
        count = writer.run(partial(_delete_deliveries, cutoff))
        removed_deliveries += count
        if count < BATCH:
            break
    return Expired(removed_events, removed_deliveries)


@asynccontextmanager
async def retention_sweeper(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: expire old events and deliveries at start and then every hour."""
    days = runtime.settings.retention_days

    async def loop() -> None:
        while True:
            try:
                done = await in_thread(expire, runtime.engine, runtime.writer, days=days)
                if done.events or done.deliveries:
                    log.info(
                        "retention (%g days): %d events and %d webhook deliveries deleted",
                        days, done.events, done.deliveries,
                    )  # fmt: skip
            except Exception:
                log.exception("expiring old events failed")
            await asyncio.sleep(SWEEP_SECONDS)

    if days <= 0:
        yield
        return
    async with running(loop(), "arbiter-retention"):
        yield
