"""What the incident machinery keeps in memory for one running service: a field of ``Runtime``
(``runtime.incidents``), made with it."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from app.notifications.dispatcher import Dispatcher


@dataclass
class WorkspaceLocks:
    """One lock per workspace: two evaluations of one workspace never interleave."""

    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, workspace_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(workspace_id, threading.Lock())


@dataclass(frozen=True)
class EvaluationResult:
    workspace_id: str
    as_of: datetime
    ok: bool
    error: str | None = None
    skipped: str | None = None
    suspects: int = 0
    opened: tuple[int, ...] = ()
    reopened: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    resolved: tuple[int, ...] = ()
    alerts: tuple[tuple[str, int], ...] = ()
    """(event, incident id) of every alert decided."""
    notifications_queued: int = 0
    seconds: float = 0.0


@dataclass
class IncidentState:
    """The evaluator's in-memory companions of one runtime: the alert dispatcher, the
    per-workspace locks and each workspace's last evaluation."""

    dispatcher: Dispatcher
    locks: WorkspaceLocks = field(default_factory=WorkspaceLocks)
    results: dict[str, EvaluationResult] = field(default_factory=dict)
