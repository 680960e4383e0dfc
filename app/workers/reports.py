"""What pollers and checks report of each system, shared through the store on PostgreSQL.

One process keeps its reports in memory (:class:`~app.warnings.statuses.ConnectorStatuses`).
With workers and API processes apart, the reports are made in the worker that holds the
workspace and read by whichever API process answers the warnings: so each report is also
written to ``connector_reports`` (by a thread of its own, coalesced, never on the event loop),
and a workspace this process does not hold is read from there.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from app.db.driver import savepoint
from app.warnings.statuses import ConnectorStatuses
from app.workers.tables import connector_reports

log = logging.getLogger("arbiter.workers")

FLUSH_SECONDS = 1.0


class SharedConnectorStatuses(ConnectorStatuses):
    def __init__(self, engine: Engine, holds: Callable[[str], bool]) -> None:
        super().__init__()
        self._engine = engine
        self._holds = holds
        self._dirty: set[tuple[str, str]] = set()
        self._dirty_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="arbiter-reports", daemon=True)
        self._thread.start()

    def record(self, workspace_id: str, system: str, status: Mapping[str, Any]) -> None:
        super().record(workspace_id, system, status)
        with self._dirty_lock:
            self._dirty.add((workspace_id, system))
        self._wake.set()

    def of(self, workspace_id: str) -> dict[str, dict[str, Any]]:
        """This process's reports of a workspace it holds; otherwise the newest of each
        system's report, this process's own or the stored one."""
        mine = super().of(workspace_id)
        if self._holds(workspace_id):
            return mine
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(connector_reports.c.system, connector_reports.c.status).where(
                    connector_reports.c.workspace_id == workspace_id
                )
            )
            found: dict[str, dict[str, Any]] = {row.system: json.loads(row.status) for row in rows}
        for system, status in mine.items():
            stored = found.get(system)
            if stored is None or str(status["reported_at"]) >= str(stored.get("reported_at")):
                found[system] = status
        return found

    def flush(self) -> None:
        """Write the reports changed since the last flush."""
        with self._dirty_lock:
            keys, self._dirty = self._dirty, set()
        rows = []
        for workspace_id, system in sorted(keys):
            status = super().of(workspace_id).get(system)
            if status is not None:
                rows.append(
                    {
                        "workspace_id": workspace_id,
                        "system": system,
                        "status": json.dumps(status, default=str),
                        "reported_at": datetime.now(UTC),
                    }
                )
        if not rows:
            return
        upsert = insert(connector_reports)
        with self._engine.begin() as connection:
            for row in rows:
                statement = upsert.values(row).on_conflict_do_update(
                    index_elements=["workspace_id", "system"],
                    set_={"status": row["status"], "reported_at": row["reported_at"]},
                )
                try:
                    with savepoint(connection):
                        connection.execute(statement)
                except IntegrityError:  # the workspace was deleted meanwhile
                    continue

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._flush_logged()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait()
            self._wake.clear()
            if not self._stopping:
                self._flush_logged()
                time.sleep(FLUSH_SECONDS)  # coalesce a burst of reports

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except Exception:  # a report is advisory: the next one is written again
            log.exception("writing connector reports failed")
