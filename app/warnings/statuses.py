"""What pollers, receivers and checks report of each system: a field of ``Runtime``
(``runtime.connector_statuses``), read by the warning rules (keys: :mod:`app.warnings.service`)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


class ConnectorStatuses:
    """The latest report of each system of each workspace, keys merged."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_workspace: dict[str, dict[str, dict[str, Any]]] = {}

    def record(self, workspace_id: str, system: str, status: Mapping[str, Any]) -> None:
        with self._lock:
            systems = self._by_workspace.setdefault(workspace_id, {})
            merged = systems.setdefault(system, {})
            merged.update(status)
            merged["reported_at"] = datetime.now(UTC).isoformat()

    def of(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {s: dict(v) for s, v in self._by_workspace.get(workspace_id, {}).items()}
