"""Webhook deliveries: verified, stored raw and durably with their events, then answered.

A delivery and its events are committed together, in the group commit of the store's writer
(one transaction per delivery made deliveries queue for SQLite's write lock: bench/README.md).
Events the topology cannot take (an unknown flow or system) are left out, and the reasons kept
on the delivery's record and returned in the answer. The index and incidents are told after
the answer. A delivery whose processing failed stays unprocessed and is processed again by
``process_pending`` (the parse is deterministic and event ids are idempotency keys, so a second
pass stores nothing twice).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.background import in_thread, running
from app.connections.poller import connector_flows
from app.connections.service import Target, all_targets, load_target
from app.connections.tables import connections, webhook_deliveries
from app.db.tables import topologies
from app.events.service import admit, store_events
from app.runtime import Runtime
from connectors.webhooks import PayloadError, SignatureError, WebhookResult, parse_webhook
from graph.model import Event

log = logging.getLogger("arbiter.webhooks")

# Headers worth keeping with a delivery: the ones that verify and describe it.
_KEPT_HEADERS = ("content-type", "user-agent", "webhook-", "x-wc-")


def load_receiver(runtime: Runtime, workspace_id: str, system_id: str) -> Target:
    """The connection a webhook to ``workspace_id/system_id`` is verified with (NotFound when
    there is none).

    Building it reads three rows, parses the topology and decrypts two secrets, for every
    delivery: under a burst that was most of a delivery's cost. So the built target is kept
    per process and reused while its connection and topology rows keep their ``updated_at``
    (one indexed read): a changed secret or topology takes effect at the next delivery.
    """
    cache: dict[tuple[str, str], tuple[tuple[Any, ...], Target]] = runtime.caches.setdefault(
        "webhook_receivers", {}
    )
    key = (workspace_id, system_id)
    with runtime.engine.connect() as connection:
        stamp = connection.execute(
            select(connections.c.updated_at, topologies.c.updated_at)
            .join(topologies, topologies.c.workspace_id == connections.c.workspace_id)
            .where(connections.c.workspace_id == workspace_id, connections.c.system_id == system_id)
        ).first()
        cached = cache.get(key)
        if stamp is not None and cached is not None and cached[0] == tuple(stamp):
            return cached[1]
        target = load_target(connection, runtime.secrets, workspace_id, system_id)
    if stamp is not None:
        cache[key] = (tuple(stamp), target)
    return target


def parse(target: Target, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookResult:
    """Verify and parse; SignatureError and PayloadError pass through to the caller."""
    if target.webhook_secret is None:
        raise SignatureError(f"no webhook secret is configured for system '{target.system_id}'")
    order_flow, stock_flow = connector_flows(target)
    return parse_webhook(
        target.kind,
        system_id=target.system_id,
        headers=headers,
        body=body,
        secret=target.webhook_secret,
        now=now,
        upstream=target.upstream,
        order_flow=order_flow,
        stock_flow=stock_flow,
    )


def delivery_id(result: WebhookResult, body: bytes) -> str:
    return result.delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()


def record_delivery(
    connection: Connection,
    target: Target,
    delivery: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    dropped: Sequence[str] | None = None,
) -> int | None:
    """Store the raw delivery; its sequence number, or None when it is a redelivery.

    With ``dropped`` (the reasons of the events left out, possibly none) it is stored as
    processed: its events are stored in the same transaction.
    """
    kept = {k: v for k, v in headers.items() if k.lower().startswith(_KEPT_HEADERS)}
    now = datetime.now(UTC)
    return connection.execute(
        _RECORD[connection.dialect.name == "postgresql"],
        {
            "workspace_id": target.workspace_id,
            "system_id": target.system_id,
            "delivery_id": delivery[:200],
            "headers": json.dumps(kept),
            "body": body,
            "received_at": now,
            "processed_at": now if dropped is not None else None,
            "error": "\n".join(dropped) or None if dropped is not None else None,
        },
    ).scalar_one_or_none()


# Built once: a statement built per call cost the writer thread more than executing it.
_RECORD = tuple(
    dialect.insert(webhook_deliveries)
    .on_conflict_do_nothing(index_elements=["workspace_id", "system_id", "delivery_id"])
    .returning(webhook_deliveries.c.seq)
    for dialect in (sqlite, postgresql)
)


@dataclass(frozen=True)
class Processed:
    seq: int | None
    """The delivery's sequence number; None for a redelivery (nothing stored)."""
    stored: list[tuple[int, Event]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Why each event of the delivery that was not stored was left out."""


def _warn(target: Target, seq: int, dropped: list[str]) -> None:
    if dropped:
        log.warning(
            "webhook delivery %d to %s/%s: %s",
            seq, target.workspace_id, target.system_id, "; ".join(dropped[:5]),
        )  # fmt: skip


def _process(connection: Connection, target: Target, seq: int, events: list[Event]) -> Processed:
    usable, dropped = admit(events, target.topology)
    stored = store_events(connection, target.workspace_id, usable).stored if usable else []
    _warn(target, seq, dropped)
    connection.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.seq == seq)
        .values(processed_at=datetime.now(UTC), error="\n".join(dropped) or None)
    )
    return Processed(seq, stored, dropped)


async def accept_delivery(
    runtime: Runtime,
    target: Target,
    delivery: str,
    headers: Mapping[str, str],
    body: bytes,
    events: list[Event],
) -> Processed:
    """Store a verified delivery and its events in one commit; answered once it is durable.

    Few statements per delivery (each costs the single writer thread): the delivery is
    inserted already marked processed, and only a failure to store its events (a bug: they
    were validated) turns it back into a pending one for the sweeper.
    """

    def work(connection: Connection) -> Processed:
        usable, dropped = admit(events, target.topology)
        seq = record_delivery(connection, target, delivery, headers, body, dropped=dropped)
        if seq is None:
            return Processed(None)
        stored: list[tuple[int, Event]] = []
        if usable:
            try:
                with connection.begin_nested():
                    stored = store_events(connection, target.workspace_id, usable).stored
            except Exception:  # kept pending: the sweeper tries again, the sender is answered
                log.exception("processing webhook delivery %d failed", seq)
                connection.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.seq == seq)
                    .values(processed_at=None, error=None)
                )
                return Processed(seq)
        _warn(target, seq, dropped)
        return Processed(seq, stored, dropped)

    processed = await runtime.writer.run_async(work)
    runtime.events_stored(target.workspace_id, processed.stored)
    return processed


def process_delivery(runtime: Runtime, target: Target, seq: int, events: list[Event]) -> None:
    """Store a recorded delivery's events and mark it processed, in one transaction."""
    processed = runtime.writer.run(lambda connection: _process(connection, target, seq, events))
    runtime.events_stored(target.workspace_id, processed.stored)


def process_pending(runtime: Runtime, *, older_than: timedelta = timedelta(seconds=30)) -> int:
    """Process deliveries a crash left behind; how many were processed."""
    cutoff = datetime.now(UTC) - older_than
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.processed_at.is_(None),
                webhook_deliveries.c.received_at < cutoff,
            )
            .order_by(webhook_deliveries.c.seq)
            .limit(500)
        ).all()
        targets = {
            (t.workspace_id, t.system_id): t for t in all_targets(connection, runtime.secrets)
        }
    done = 0
    for row in rows:
        target = targets.get((row.workspace_id, row.system_id))
        error: str | None = None
        events: list[Event] = []
        if target is None:
            error = "the system's connection is gone"
        else:
            try:
                events = parse(target, json.loads(row.headers), row.body, row.received_at).events
            except (SignatureError, PayloadError) as exc:
                error = str(exc)
        if error is not None or target is None:
            runtime.writer.run(partial(_failed, row.seq, error))
            continue
        process_delivery(runtime, target, row.seq, events)
        done += 1
    return done


def _failed(seq: int, error: str | None, connection: Connection) -> None:
    connection.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.seq == seq)
        .values(processed_at=datetime.now(UTC), error=error)
    )


@asynccontextmanager
async def pending_sweeper(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: process deliveries that a crash left unprocessed, every 30 s."""

    async def loop() -> None:
        while True:
            try:
                await in_thread(process_pending, runtime)
            except Exception:
                log.exception("processing pending webhook deliveries failed")
            await asyncio.sleep(30)

    async with running(loop(), "arbiter-webhook-sweeper"):
        yield
