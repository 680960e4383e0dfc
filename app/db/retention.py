"""Retention: raw events and webhook deliveries older than ``ARBITER_RETENTION_DAYS`` go.

Incidents, their notes and notifications, and SLA reports are kept (they live in their own
tables and do not reference events). On SQLite, deletes run in small batches, each a unit of
the store's writer (:class:`app.db.writer.Writer`): ingest waiting behind one batch waits
milliseconds, never for the whole sweep. An event's refs go with it (``ON DELETE CASCADE``).

On PostgreSQL the event tables are partitioned by week (:mod:`app.db.partitions`): a week
wholly before the cutoff is dropped, partition by partition, and what its DEFAULT partition
and the idempotency-key tables hold from before that week goes in batches. The sweep also
makes the partitions of the coming weeks.
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
from app.db import partitions
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
    """Delete events whose time, and deliveries whose arrival, is over ``days`` before ``now``
    (on PostgreSQL: those of the weeks wholly before that)."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    if engine.dialect.name == "postgresql":
        return _expire_partitions(engine, writer, cutoff, days=days, now=now)
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


def _expire_partitions(
    engine: Engine, writer: Writer, cutoff: datetime, *, days: float, now: datetime
) -> Expired:
    writer.run(partial(partitions.maintain, keep_days=days, now=now))
    with engine.connect() as connection:
        doomed = {t: partitions.expired(connection, t, cutoff) for t in partitions.PARTITIONED}
    removed = dict.fromkeys(partitions.PARTITIONED, 0)
    for table, names in doomed.items():
        for name in names:
            removed[table] += writer.run(partial(partitions.drop, name))
    # Rows no partition of their week held, and the keys of every row gone: in batches.
    start = datetime.combine(partitions.week_of(cutoff), datetime.min.time(), tzinfo=UTC)
    leftovers: list[tuple[str, str, str | None]] = [
        (f"{t}_default", key, t) for t, key in partitions.PARTITIONED.items()
    ]
    leftovers += [(ids, key, None) for ids, key in partitions.KEYS.values()]
    for name, key, counted in leftovers:
        while True:
            count = writer.run(partial(_delete_before, name, key, start))
            if counted is not None:
                removed[counted] += count
            if count < BATCH:
                break
    return Expired(removed["events"], removed["webhook_deliveries"])


def _delete_before(name: str, key: str, start: datetime, connection: Connection) -> int:
    # Names come from app.db.partitions' constants; the time is bound.
    sql = f"DELETE FROM {name} WHERE ctid IN (SELECT ctid FROM {name} WHERE {key} < %s LIMIT %s)"  # noqa: S608
    return connection.exec_driver_sql(sql, (start, BATCH)).rowcount


def maintain(engine: Engine, writer: Writer, *, days: float) -> None:
    """Make the coming weeks' partitions (PostgreSQL; nothing to do on SQLite)."""
    if engine.dialect.name == "postgresql":
        writer.run(partial(partitions.maintain, keep_days=days))


@asynccontextmanager
async def retention_sweeper(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: expire old events and deliveries at start and then every hour."""
    days = runtime.settings.store.retention_days

    async def loop() -> None:
        while True:
            try:
                if days <= 0:  # nothing expires; the partitions of the coming weeks are made
                    await in_thread(maintain, runtime.engine, runtime.writer, days=days)
                    await asyncio.sleep(SWEEP_SECONDS)
                    continue
                done = await in_thread(expire, runtime.engine, runtime.writer, days=days)
                if done.events or done.deliveries:
                    log.info(
                        "retention (%g days): %d events and %d webhook deliveries deleted",
                        days, done.events, done.deliveries,
                    )  # fmt: skip
            except Exception:
                log.exception("expiring old events failed")
            await asyncio.sleep(SWEEP_SECONDS)

    if days <= 0 and runtime.engine.dialect.name != "postgresql":
        yield
        return
    async with running(loop(), "arbiter-retention"):
        yield
