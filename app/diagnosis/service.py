"""Keeps one in-memory ``WorkspaceIndex`` per workspace and answers diagnoses from it.

An index is built from the store the first time a workspace is diagnosed, fed with each batch
right after it is committed, and caught up from the store (events after the highest sequence
number it holds) before every answer, so events stored by another process are not missed.

On PostgreSQL, concurrent transactions of other processes can commit a lower sequence number
after a higher one was read; so each catch-up also re-reads the events received in the last
:data:`REREAD_SECONDS` (the index ignores ids it holds). A transaction that takes longer than
that to commit after taking its numbers is the one case left out until the next start.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from app.errors import Conflict
from app.events.service import iter_stored
from app.topology.service import get_topology
from app.workspaces.service import require_workspace
from graph.index import WorkspaceIndex
from graph.model import Event, Topology
from graph.results import Diagnosis, Trace

REREAD_SECONDS = 30.0


@dataclass
class _Entry:
    index: WorkspaceIndex
    watermark: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class IndexRegistry:
    def __init__(self, engine: Engine, *, skew_tolerance_seconds: float) -> None:
        self._engine = engine
        self._skew = skew_tolerance_seconds
        # SQLite commits one writer at a time, in sequence order: nothing to re-read there.
        self._reread = REREAD_SECONDS if engine.dialect.name == "postgresql" else None
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def feed(self, workspace_id: str, stored: Iterable[tuple[int, Event]]) -> None:
        """Add freshly committed events to the workspace's index, if it is loaded."""
        entry = self._entries.get(workspace_id)
        if entry is None:
            return
        with entry.lock:
            self._add(entry, stored)

    def drop(self, workspace_id: str) -> None:
        with self._lock:
            self._entries.pop(workspace_id, None)

    def index(self, workspace_id: str) -> tuple[WorkspaceIndex, threading.Lock]:
        """The workspace index, caught up with the store, and the lock to hold while reading."""
        with self._lock:
            entry = self._entries.get(workspace_id)
            if entry is None:
                entry = self._entries[workspace_id] = _Entry(
                    WorkspaceIndex(skew_tolerance_seconds=self._skew)
                )
        with entry.lock, self._engine.connect() as connection:
            if self._reread is not None and entry.watermark:
                since = datetime.now(UTC) - timedelta(seconds=self._reread)
                self._add(entry, iter_stored(connection, workspace_id, received_since=since))
            self._add(entry, iter_stored(connection, workspace_id, after_seq=entry.watermark))
        return entry.index, entry.lock

    @staticmethod
    def _add(entry: _Entry, stored: Iterable[tuple[int, Event]]) -> None:
        batch: list[Event] = []
        for seq, event in stored:
            batch.append(event)
            entry.watermark = max(entry.watermark, seq)
            if len(batch) >= 10_000:
                entry.index.add(batch)
                batch = []
        if batch:
            entry.index.add(batch)

    def topology(self, workspace_id: str) -> Topology:
        with self._engine.connect() as connection:
            require_workspace(connection, workspace_id)
            topology = get_topology(connection, workspace_id)
        if topology is None:
            raise Conflict(f"workspace '{workspace_id}' has no topology yet: PUT one first")
        return topology

    def diagnose(self, workspace_id: str, as_of: datetime, window_seconds: float) -> Diagnosis:
        topology = self.topology(workspace_id)
        index, lock = self.index(workspace_id)
        with lock:
            return index.diagnose(topology, as_of=as_of, window_seconds=window_seconds)

    def trace(self, workspace_id: str, namespace: str, value: str, as_of: datetime) -> Trace | None:
        topology = self.topology(workspace_id)
        index, lock = self.index(workspace_id)
        with lock:
            return index.trace(topology, namespace, value, as_of=as_of)
