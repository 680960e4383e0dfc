"""Backfill: read a system's last N days once, so the baselines warnings use (usual gaps, volumes,
error rates) exist from the first day of a connection.

It is an ordinary poll with an N-day lookback, repeated until no stream says "more pages
remain", through the connector's own pacing (BaseLinker's 100 calls a minute included). Its
cursor is kept apart from the poller's, in the connection's status under ``backfill``, saved
with each round's events in one transaction: an interrupted backfill resumes where it stopped,
and the regular poller is not moved. Events have deterministic ids, so what both read is stored
once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from sqlalchemy import Connection, select

from app.background import in_thread
from app.connections.poller import connector_for
from app.connections.service import Target, load_target, save_poll
from app.connections.tables import connections
from app.events.service import admit, store_events
from app.runtime import Runtime
from connectors.base import RateLimited
from connectors.http import EgressTransport
from connectors.polling import parse_time
from graph.model import Event

MAX_ROUNDS = 10_000
LONGEST_WAIT = 300.0
"""A throttled round waits what the vendor asked, at most this long, then tries again."""

Progress = Callable[[float, int], None]
"""Called after each round with the share of the period covered (0..1) and events stored."""


@dataclass(frozen=True)
class BackfillResult:
    rounds: int
    stored: int
    resumed: bool
    notes: list[str]


def _covered(cursor: dict[str, Any] | None, start: datetime, end: datetime) -> float:
    """How far the order stream's keyset has come from ``start`` to ``end`` (0..1)."""
    since = parse_time(((cursor or {}).get("orders") or {}).get("since"))
    if since is None or end <= start:
        return 0.0
    return max(0.0, min(1.0, (since - start) / (end - start)))


def _unfinished(notes: list[str]) -> bool:
    return any("remain" in note and "next round continues" in note for note in notes)


async def backfill(
    runtime: Runtime,
    workspace_id: str,
    system_id: str,
    *,
    days: float,
    progress: Progress | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    client: httpx.AsyncClient | None = None,
) -> BackfillResult:
    """Read the last ``days`` of the system's history (see the module docstring)."""
    target: Target = await in_thread(_load, runtime, workspace_id, system_id)
    if not target.polls:
        raise ValueError(f"system '{system_id}' is not polled (kind '{target.kind}')")
    state = dict(target.status.get("backfill") or {})
    resumed = state.get("days") == days and not state.get("done") and bool(state.get("cursor"))
    now = datetime.now(UTC)
    if not resumed:
        state = {"days": days, "from": (now - timedelta(days=days)).isoformat(), "cursor": None}
    start = parse_time(state["from"]) or now - timedelta(days=days)
    own_client = client is None
    http = client or httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, connect=10.0),
        transport=EgressTransport(runtime.settings.egress),
    )
    try:
        connector = connector_for(target, http, now - start)
        stored_total, rounds, notes = 0, 0, []
        while rounds < MAX_ROUNDS:
            rounds += 1
            try:
                result = await connector.poll(state["cursor"])
            except RateLimited as exc:
                await _store(runtime, target, exc.events, state)
                await sleep(min(LONGEST_WAIT, exc.retry_after or 60.0))
                continue
            state["cursor"] = result.cursor
            notes = result.notes
            done = not _unfinished(result.notes)
            state["done"] = done
            stored_total += await _store(runtime, target, result.events, state)
            if progress is not None:
                progress(1.0 if done else _covered(result.cursor, start, now), stored_total)
            if done:
                break
        return BackfillResult(rounds=rounds, stored=stored_total, resumed=resumed, notes=notes)
    finally:
        if own_client:
            await http.aclose()


def _load(runtime: Runtime, workspace_id: str, system_id: str) -> Target:
    with runtime.engine.connect() as connection:
        return load_target(connection, runtime.secrets, workspace_id, system_id)


async def _store(
    runtime: Runtime, target: Target, events: list[Event], state: dict[str, Any]
) -> int:
    usable, _dropped = await in_thread(admit, events, target.topology)
    stored = await runtime.writer.run_async(partial(_persist, target, usable, dict(state)))
    runtime.events_stored(target.workspace_id, stored)
    return len(stored)


def _persist(
    target: Target, events: list[Event], state: dict[str, Any], connection: Connection
) -> list[tuple[int, Event]]:
    stored = store_events(connection, target.workspace_id, events).stored if events else []
    raw = connection.execute(
        select(connections.c.status).where(
            connections.c.workspace_id == target.workspace_id,
            connections.c.system_id == target.system_id,
        )
    ).scalar()
    current = json.loads(raw) if raw else {}
    # Only the backfill's part of the status: the poller's cursor and figures stay its own.
    save_poll(
        connection,
        target.workspace_id,
        target.system_id,
        cursor=None,
        status={**current, "backfill": state},
    )
    return stored
