"""The pollers: each connection is polled on its interval; a poll's events, cursor and status
are committed together, so a restart resumes without gaps or duplicates.

A failing system never stops the loop: its error becomes the connection's status, and the
calls the connector made on the way are stored as Arbiter's own evidence.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import Connection

from app.background import Jobs, in_thread, running
from app.connections.service import Target, Version, all_targets, save_poll, target_versions
from app.events.service import admit, store_events
from app.runtime import Runtime
from app.warnings.service import record_connector_status
from connectors.base import Connector, ConnectorError, PollResult, RateLimited
from connectors.http import EgressTransport
from connectors.registry import build_connector
from graph.model import Event

log = logging.getLogger("arbiter.pollers")

TICK_SECONDS = 1.0


MAX_DROPPED_SHOWN = 20
FIRST_POLL_LOOKBACK = timedelta(hours=24)


def connector_flows(target: Target) -> tuple[str, str]:
    """The names of the order and the stock flow in this topology: ``order`` and ``stock`` when
    present, else the flows whose names say so (``orders``, ``inventory``), else the first and
    the last flow in the order the topology lists its links."""
    listed = list(dict.fromkeys(link.flow for link in target.topology.links)) or ["order", "stock"]

    def named(exact: str, *words: str, fallback: str) -> str:
        if exact in listed:
            return exact
        return next((f for f in listed if any(w in f.lower() for w in words)), fallback)

    return (
        named("order", "order", fallback=listed[0]),
        named("stock", "stock", "inventor", fallback=listed[-1]),
    )


def connector_for(
    target: Target, client: httpx.AsyncClient, lookback: timedelta = FIRST_POLL_LOOKBACK
) -> Connector:
    """The connector of the target's kind, speaking through ``client`` (``lookback``: how far
    back a first poll reads; longer for a backfill)."""
    assert target.base_url is not None
    order_flow, stock_flow = connector_flows(target)
    return build_connector(
        target.kind,
        system_id=target.system_id,
        base_url=target.base_url,
        credentials=target.credentials,
        client=client,
        upstream=target.upstream,
        order_flow=order_flow,
        stock_flow=stock_flow,
        lookback=lookback,
    )


def _fingerprint(target: Target) -> tuple[object, ...]:
    """What a connector is built from: a change of any of it needs a new connector."""
    return (
        target.kind,
        target.base_url,
        tuple(sorted(target.credentials.items())),
        target.upstream,
        connector_flows(target),
    )


async def poll_once(runtime: Runtime, target: Target, connector: Connector) -> dict[str, Any]:
    """Poll one system once, store what it returned, and return the new status."""
    now = datetime.now(UTC).isoformat()
    status: dict[str, Any] = {**target.status, "last_poll_at": now}
    cursor: dict[str, Any] | None = None
    health: dict[str, Any] = {}
    try:
        result: PollResult = await connector.poll(target.cursor)
    except ConnectorError as exc:
        events = exc.events
        status.update(last_error=exc.message, error_kind=type(exc).__name__, error_at=now)
        if exc.status is not None:
            status["error_status"] = exc.status
        if isinstance(exc, RateLimited) and exc.retry_after:
            # Polling a throttled (BaseLinker: blocked) token again only prolongs the block.
            until = datetime.now(UTC) + timedelta(seconds=exc.retry_after)
            status["backoff_until"] = until.isoformat()
    else:
        events, cursor, health = result.events, result.cursor, result.health
        status.update(
            last_success_at=now,
            last_error=None,
            error_kind=None,
            backoff_until=None,
            notes=result.notes,
            warnings=result.warnings,
        )
        if result.rate_limit is not None:
            status["rate_limit"] = asdict(result.rate_limit)
        if health:  # the system's own report (read every few minutes): shown until the next
            status["health"] = {**(status.get("health") or {}), **health}
    usable, dropped = await in_thread(admit, events, target.topology)
    # Shown in the connection's status: events the topology cannot take are never silently lost.
    status.update(
        events_last_poll=len(events),
        dropped_last_poll=len(dropped),
        dropped=dropped[:MAX_DROPPED_SHOWN],
    )
    if dropped:
        log.warning("poll of %s/%s: %s", target.workspace_id, target.system_id, dropped[0])
    stored = await runtime.writer.run_async(
        partial(_persist, runtime, target, usable, cursor, status)
    )
    runtime.events_stored(target.workspace_id, stored)
    record_connector_status(
        runtime,
        target.workspace_id,
        target.system_id,
        {
            "rate_limit": status.get("rate_limit"),
            "last_poll_at": now,
            "poll_interval_seconds": target.poll_interval_seconds,
            "last_error": status.get("last_error"),
            "error_kind": status.get("error_kind"),
            "warnings": status.get("warnings") or [],
            **health,  # the system's own report: webhooks it disabled (webhook_disabled)
        },
    )
    return status


def _persist(
    runtime: Runtime,
    target: Target,
    events: list[Event],
    cursor: dict[str, Any] | None,
    status: dict[str, Any],
    connection: Connection,
) -> list[tuple[int, Event]]:
    # Only while this process still holds the workspace: a worker that lost it must not
    # store a cursor behind the new holder's back.
    runtime.scope.fence(connection, target.workspace_id)
    stored = store_events(connection, target.workspace_id, events).stored if events else []
    save_poll(connection, target.workspace_id, target.system_id, cursor=cursor, status=status)
    return stored


async def _loop(runtime: Runtime) -> None:
    next_due: dict[tuple[str, str], float] = {}
    # Kept between polls: connectors cache sessions, SKU maps and rate-limit buckets.
    connectors: dict[tuple[str, str], tuple[tuple[object, ...], Connector]] = {}
    # Connections that do not poll (no base URL, a kind without a connector, a system gone from
    # the topology), as of the version they were read at: read again only once it changes.
    idle: dict[tuple[str, str], Version] = {}
    async with (
        httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=10.0),
            transport=EgressTransport(runtime.settings.egress),
            headers={"User-Agent": runtime.scope.agent},
        ) as client,
        Jobs[tuple[str, str]]() as polls,
    ):
        while True:
            try:
                versions = await in_thread(_versions, runtime)
            except Exception:
                log.exception("could not list the connections")
                versions = {}
            now = time.monotonic()
            for key, version in versions.items():
                if not runtime.scope.holds(key[0]):
                    continue  # another worker's workspace (app.workers)
                if key in polls or next_due.get(key, 0.0) > now or idle.get(key) == version:
                    continue
                # Read (secrets opened) only when due: its cursor and status as stored.
                try:
                    target = await in_thread(_target, runtime, key)
                except Exception:
                    log.exception("could not load the connection %s/%s", *key)
                    continue
                if target is None or not target.polls:
                    idle[key] = version
                    continue
                idle.pop(key, None)
                wait = backoff_seconds(target)
                next_due[key] = now + (wait if wait > 0 else target.poll_interval_seconds)
                if wait > 0:
                    continue
                fingerprint = _fingerprint(target)
                cached = connectors.get(key)
                if cached is None or cached[0] != fingerprint:
                    cached = connectors[key] = (fingerprint, connector_for(target, client))
                task = polls.start(key, _guarded(runtime, target, cached[1]))
                runtime.scope.track(key[0], task)
            await asyncio.sleep(TICK_SECONDS)


def backoff_seconds(target: Target) -> float:
    """How long the system asked us (429, a blocked token) to wait from now; 0: not at all."""
    until = target.status.get("backoff_until")
    if not isinstance(until, str):
        return 0.0
    try:
        return max((datetime.fromisoformat(until) - datetime.now(UTC)).total_seconds(), 0.0)
    except (ValueError, TypeError):
        return 0.0


def backing_off(target: Target) -> bool:
    """Whether the system asked us (429, a blocked token) to wait past now."""
    return backoff_seconds(target) > 0


def _versions(runtime: Runtime) -> dict[tuple[str, str], Version]:
    with runtime.engine.connect() as connection:
        return target_versions(connection)


def _target(runtime: Runtime, key: tuple[str, str]) -> Target | None:
    with runtime.engine.connect() as connection:
        found = all_targets(connection, runtime.secrets, *key)
    return found[0] if found else None


async def _guarded(runtime: Runtime, target: Target, connector: Connector) -> None:
    try:
        await poll_once(runtime, target, connector)
    except Exception:  # a bug in one connector must not stop the others
        log.exception("poll of %s/%s failed", target.workspace_id, target.system_id)


@asynccontextmanager
async def pollers(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: poll every connection on its interval while the server runs."""
    async with running(_loop(runtime), "arbiter-pollers"):
        yield
