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

import pydantic_core
from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import sqlite

from app.background import in_thread, running
from app.connections.poller import connector_flows
from app.connections.service import Target, all_targets, load_target
from app.connections.tables import webhook_deliveries
from app.db import driver, partitions
from app.db.driver import savepoint
from app.events.service import Rows, admit, event_rows, insert_rows, store_events, time_processor
from app.runtime import Runtime
from connectors.webhooks import PayloadError, SignatureError, WebhookResult, parse_webhook
from graph.model import Event

log = logging.getLogger("arbiter.webhooks")

# Headers worth keeping with a delivery: the ones that verify and describe it.
_KEPT_HEADERS = ("content-type", "user-agent", "webhook-", "x-wc-")


Stamp = tuple[Any, ...]
"""When the receiving connection and its workspace's topology were last changed."""


@dataclass(frozen=True)
class Receiver:
    target: Target
    stamp: Stamp


def cached_receiver(runtime: Runtime, workspace_id: str, system_id: str) -> Receiver | None:
    """The receiver built for an earlier delivery, without reading the store (None: none yet).

    Whether it is still current is checked in the transaction that stores the delivery
    (:func:`store_deliveries`), once per group for all its deliveries, instead of a read per
    delivery here.
    """
    found: Receiver | None = runtime.caches.get(_RECEIVERS, {}).get((workspace_id, system_id))
    return found


def load_receiver(runtime: Runtime, workspace_id: str, system_id: str) -> Receiver:
    """The connection a webhook to ``workspace_id/system_id`` is verified with, read from the
    store and kept per process (NotFound when there is none).

    Building it reads three rows, parses the topology and decrypts two secrets: under a burst
    that was most of a delivery's cost, so it is built once and reused while its connection
    and topology rows keep their ``updated_at``: a changed secret or topology takes effect at
    the next delivery.
    """
    cache: dict[tuple[str, str], Receiver] = runtime.caches.setdefault(_RECEIVERS, {})
    key = (workspace_id, system_id)
    with runtime.engine.connect() as connection:
        stamp = _stamps(connection, [key]).get(key)
        cached = cache.get(key)
        if stamp is not None and cached is not None and cached.stamp == stamp:
            return cached
        target = load_target(connection, runtime.secrets, workspace_id, system_id)
    receiver = Receiver(target, stamp or ())
    if stamp is not None:
        cache[key] = receiver
    return receiver


def forget_receiver(runtime: Runtime, workspace_id: str, system_id: str) -> None:
    runtime.caches.get(_RECEIVERS, {}).pop((workspace_id, system_id), None)


_RECEIVERS = "webhook_receivers"


def _stamps(
    connection: Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Stamp]:
    """(workspace, system) → :data:`Stamp` of each of ``keys`` that has a connection.

    Through the driver: read once per group commit, the statement layer's compiling of the
    tuple IN cost the writer thread more than the query did (py-spy). The stamps are the
    stored values as the driver gives them: compared only with each other.
    """
    mark = "(?, ?)" if connection.dialect.paramstyle == "qmark" else "(%s, %s)"
    sql = (
        "SELECT c.workspace_id, c.system_id, c.updated_at, t.updated_at"  # noqa: S608
        " FROM connections c JOIN topologies t ON t.workspace_id = c.workspace_id"
        f" WHERE (c.workspace_id, c.system_id) IN (VALUES {', '.join([mark] * len(keys))})"
    )
    rows = driver.execute(connection, sql, tuple(part for key in keys for part in key))
    return {(row[0], row[1]): (row[2], row[3]) for row in rows}


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
    now = datetime.now(UTC)
    return connection.execute(
        _RECORD[connection.dialect.name == "postgresql"],
        {
            "workspace_id": target.workspace_id,
            "system_id": target.system_id,
            "delivery_id": delivery[:200],
            "headers": _kept(headers),
            "body": body,
            "received_at": now,
            "processed_at": now if dropped is not None else None,
            "error": "\n".join(dropped) or None if dropped is not None else None,
        },
    ).scalar_one_or_none()


def _kept(headers: Mapping[str, str]) -> str:
    """The headers stored with a delivery (JSON): the ones that verify and describe it
    (pydantic-core's encoder: 1.8 µs where ``json.dumps`` took 4, on every delivery)."""
    kept = {k: v for k, v in headers.items() if k.lower().startswith(_KEPT_HEADERS)}
    return pydantic_core.to_json(kept).decode()


# Built once: a statement built per call cost the writer thread more than executing it.
_RECORD = (
    sqlite.insert(webhook_deliveries)
    .on_conflict_do_nothing(index_elements=["workspace_id", "system_id", "delivery_id"])
    .returning(webhook_deliveries.c.seq),
    partitions.DELIVERY_INSERT,  # partitioned: the key is held in its own table
)


@dataclass(frozen=True)
class Processed:
    seq: int | None
    """The delivery's sequence number; None for a redelivery (nothing stored)."""
    stored: list[tuple[int, Event]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    """Why each event of the delivery that was not stored was left out."""
    stale: bool = False
    """Nothing stored: the receiver it was verified with changed (or is gone) since it was
    built; verify again with the one in the store."""

    def answer(self, delivery: Delivery) -> dict[str, Any]:
        """The body of the 200 that acknowledges ``delivery``."""
        answer: dict[str, Any] = {
            "status": "ok",
            "delivery_id": delivery.delivery,
            "duplicate": self.seq is None,
        }
        if self.dropped:
            answer["dropped"] = self.dropped
        return answer


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


@dataclass(frozen=True)
class Delivery:
    """A verified delivery made ready for the commit that stores it.

    Its row and its events' rows (validated against the receiver's topology, as the events API
    validates, and turned into column values) are made before it reaches the store's one writer
    thread, on the event loop while that thread waits for the previous group's fsync: the
    writer then only checks the receivers' stamps and inserts (bench/README.md).
    """

    receiver: Receiver
    delivery: str
    values: tuple[Any, ...]
    """Its row but for the times: workspace, system, delivery id, headers kept (JSON), body,
    and the reasons of the events dropped (None when none were)."""
    events: Rows
    """The events the topology takes, ready for :func:`app.events.service.insert_rows`."""
    dropped: list[str]

    @property
    def key(self) -> tuple[str, str]:
        return self.receiver.target.workspace_id, self.receiver.target.system_id


def verify(
    runtime: Runtime, receiver: Receiver, headers: Mapping[str, str], body: bytes
) -> Delivery | None:
    """Verify and parse a delivery with ``receiver`` and make it ready to store (None for a
    ping). SignatureError, PayloadError and UnsupportedWebhookKind pass through."""
    result = parse(receiver.target, headers, body, datetime.now(UTC))
    if result.is_ping:
        return None
    target = receiver.target
    usable, dropped = admit(result.events, target.topology)
    delivery = delivery_id(result, body)
    error = "\n".join(dropped) or None
    values = (target.workspace_id, target.system_id, delivery[:200], _kept(headers), body, error)
    rows = event_rows(runtime.engine.dialect, target.workspace_id, usable)
    return Delivery(receiver, delivery, values, rows, dropped)


async def deliver(runtime: Runtime, delivery: Delivery) -> dict[str, Any] | None:
    """Store ``delivery`` with its events; the body of its 200 once they are durable, or None
    when its receiver changed (or went) since it was built: that receiver is forgotten, and
    the delivery is to be verified again with the one in the store.

    Concurrent deliveries are stored together (:func:`store_deliveries`, one group commit),
    and their events given to the index once per commit.
    """
    batch: _Deliveries | None = runtime.caches.get(_BATCH)
    if batch is None:
        batch = runtime.caches[_BATCH] = _Deliveries(runtime)
    processed = await runtime.writer.run_batched_async(batch, delivery)
    if processed.stale:
        forget_receiver(runtime, *delivery.key)
        return None
    return processed.answer(delivery)


_BATCH = "webhook_delivery_batch"


class _Deliveries:
    """:func:`store_deliveries` for the writer, feeding the index after each commit."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def __call__(self, connection: Connection, deliveries: list[Delivery]) -> list[Processed]:
        return store_deliveries(connection, deliveries)

    def committed(self, deliveries: list[Delivery], answers: list[Processed]) -> None:
        stored: dict[str, list[tuple[int, Event]]] = {}
        for delivery, answer in zip(deliveries, answers, strict=True):
            stored.setdefault(delivery.key[0], []).extend(answer.stored)
        for workspace_id, events in stored.items():
            self.runtime.events_stored(workspace_id, sorted(events, key=lambda pair: pair[0]))


def store_deliveries(connection: Connection, deliveries: list[Delivery]) -> list[Processed]:
    """Store the deliveries of one group commit and their events: one read of their receivers'
    stamps, one insert of the deliveries, one insert of the events of each workspace.

    Each delivery is inserted already marked processed (with the reasons of the events the
    topology cannot take); only a failure to store the events (a bug: they were validated)
    turns them back into pending ones for the sweeper. A delivery verified with a receiver
    that has changed since it was built (a rotated secret, a new topology) is not stored.
    """
    current = _stamps(connection, list({d.key for d in deliveries}))
    fresh = [i for i, d in enumerate(deliveries) if current.get(d.key) == d.receiver.stamp]
    inserted = _insert(connection, [deliveries[i].values for i in fresh])
    seq_of: dict[int, int] = {}
    by_workspace: dict[str, dict[int, Rows]] = {}
    for i in fresh:
        # Popped: a second delivery of the same id in this group is a redelivery.
        seq = inserted.pop(deliveries[i].values[:3], None)
        if seq is not None:
            seq_of[i] = seq
            by_workspace.setdefault(deliveries[i].key[0], {})[i] = deliveries[i].events
    stored_of: dict[int, list[tuple[int, Event]] | None] = {}
    for workspace_id, usable in by_workspace.items():
        stored = _store_events_of(connection, workspace_id, usable, [seq_of[i] for i in usable])
        stored_of.update((i, None if stored is None else stored[i]) for i in usable)
    answers: list[Processed] = []
    fresh_set = set(fresh)
    for i, delivery in enumerate(deliveries):
        if i not in fresh_set:
            answers.append(Processed(None, stale=True))
        elif i not in seq_of:
            answers.append(Processed(None))
        elif (stored_here := stored_of[i]) is None:  # kept pending
            answers.append(Processed(seq_of[i]))
        else:
            _warn(delivery.receiver.target, seq_of[i], delivery.dropped)
            answers.append(Processed(seq_of[i], stored_here, delivery.dropped))
    return answers


def _store_events_of(
    connection: Connection, workspace_id: str, usable: dict[int, Rows], seqs: list[int]
) -> dict[int, list[tuple[int, Event]]] | None:
    """Store the events of one workspace's deliveries (``usable``: by delivery) in one insert;
    the events newly stored for each delivery (an event in several goes to the first), or None
    when storing failed and the deliveries ``seqs`` were turned back into pending ones."""
    owner: dict[str, int] = {}
    for i, rows in usable.items():
        for event_id in rows.unique:
            owner.setdefault(event_id, i)
    result: dict[int, list[tuple[int, Event]]] = {i: [] for i in usable}
    if not owner:
        return result
    try:
        with savepoint(connection):
            stored = insert_rows(connection, _merged(workspace_id, list(usable.values()))).stored
    except Exception:  # kept pending: the sweeper tries again, the senders are answered
        log.exception("processing webhook deliveries %s failed", seqs)
        connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.seq.in_(seqs))
            .values(processed_at=None, error=None)
        )
        return None
    for seq, event in stored:
        result[owner[event.id]].append((seq, event))
    return result


def _merged(workspace_id: str, parts: list[Rows]) -> Rows:
    """The rows of several deliveries' events as one batch: the first of each event id."""
    unique: dict[str, Event] = {}
    rows: list[tuple[Any, ...]] = []
    times: dict[str, Any] = {}
    for part in parts:
        for (event_id, event), row in zip(part.unique.items(), part.rows, strict=True):
            if event_id not in unique:
                unique[event_id] = event
                rows.append(row)
                times[event_id] = part.times[event_id]
    return Rows(workspace_id, sum(part.size for part in parts), unique, rows, times)


def _insert(connection: Connection, rows: list[tuple[Any, ...]]) -> dict[tuple[Any, ...], int]:
    """Insert deliveries (their :attr:`Delivery.values`) with one statement; the sequence
    number of each one stored, by (workspace, system, delivery id)."""
    if not rows:
        return {}
    dialect = connection.dialect
    now = time_processor(dialect)(datetime.now(UTC))
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    placeholders = ",".join([f"({','.join([mark] * 8)})"] * len(rows))
    # Only placeholders and the constant column names are formatted in; values are bound.
    sql = (
        "INSERT INTO webhook_deliveries (workspace_id, system_id, delivery_id, headers, body, "  # noqa: S608
        f"received_at, processed_at, error) VALUES {placeholders} "
        "ON CONFLICT (workspace_id, system_id, delivery_id) DO NOTHING "
        "RETURNING seq, workspace_id, system_id, delivery_id"
    )
    if dialect.name == "postgresql":  # partitioned: the key is held in its own table
        sql = partitions.deliveries_insert_sql(len(rows))
    values = tuple(v for row in rows for v in (*row[:5], now, now, row[5]))
    inserted = driver.execute(connection, sql, values)
    return {(row[1], row[2], row[3]): row[0] for row in inserted}


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
