"""Webhook deliveries: verified, stored raw and durably, answered, and only then processed.

A delivery is stored before the answer and its events after it; a delivery left unprocessed by
a crash is processed again by ``process_pending`` (the parse is deterministic and event ids are
idempotency keys, so a second pass stores nothing twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.background import in_thread
from app.connections.service import Target, all_targets
from app.connections.tables import webhook_deliveries
from app.events.service import store_events, unknown_names
from app.runtime import Runtime
from connectors.webhooks import PayloadError, SignatureError, WebhookResult, parse_webhook
from graph.model import Event

log = logging.getLogger("arbiter.webhooks")

# Headers worth keeping with a delivery: the ones that verify and describe it.
_KEPT_HEADERS = ("content-type", "user-agent", "webhook-", "x-wc-")


def parse(target: Target, headers: Mapping[str, str], body: bytes, now: datetime) -> WebhookResult:
    """Verify and parse; SignatureError and PayloadError pass through to the caller."""
    if target.webhook_secret is None:
        raise SignatureError(f"no webhook secret is configured for system '{target.system_id}'")
    return parse_webhook(
        target.kind,
        system_id=target.system_id,
        headers=headers,
        body=body,
        secret=target.webhook_secret,
        now=now,
        upstream=target.upstream,
    )


def delivery_id(result: WebhookResult, body: bytes) -> str:
    return result.delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()


def record_delivery(
    connection: Connection,
    target: Target,
    delivery: str,
    headers: Mapping[str, str],
    body: bytes,
) -> int | None:
    """Store the raw delivery; its sequence number, or None when it is a redelivery."""
    kept = {k: v for k, v in headers.items() if k.lower().startswith(_KEPT_HEADERS)}
    try:
        with connection.begin_nested():
            result = connection.execute(
                insert(webhook_deliveries)
                .values(
                    workspace_id=target.workspace_id,
                    system_id=target.system_id,
                    delivery_id=delivery[:200],
                    headers=json.dumps(kept),
                    body=body,
                    received_at=datetime.now(UTC),
                )
                .returning(webhook_deliveries.c.seq)
            )
            seq: int = result.scalar_one()
    except IntegrityError:
        return None
    return seq


def process_delivery(runtime: Runtime, target: Target, seq: int, events: list[Event]) -> None:
    """Store a delivery's events and mark it processed, in one transaction."""
    usable = [e for e in events if not unknown_names(e, target.topology)]
    with runtime.engine.begin() as connection:
        stored = store_events(connection, target.workspace_id, usable).stored if usable else []
        connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.seq == seq)
            .values(processed_at=datetime.now(UTC))
        )
    runtime.events_stored(target.workspace_id, stored)


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
            with runtime.engine.begin() as connection:
                connection.execute(
                    update(webhook_deliveries)
                    .where(webhook_deliveries.c.seq == row.seq)
                    .values(processed_at=datetime.now(UTC), error=error)
                )
            continue
        process_delivery(runtime, target, row.seq, events)
        done += 1
    return done


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

    task = asyncio.create_task(loop(), name="arbiter-webhook-sweeper")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
