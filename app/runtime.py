"""What the running service holds: settings, the store's engine, the admin token, the indexes."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.auth.service import ensure_admin_token
from app.connections.crypto import SecretBox
from app.db.engine import make_engine, make_writer_engine, migrate
from app.db.writer import Writer
from app.diagnosis.service import IndexRegistry
from app.diagnosis.snapshot import Snapshots
from app.incidents.state import IncidentState
from app.notifications.dispatcher import Dispatcher
from app.settings import Settings
from app.warnings.statuses import ConnectorStatuses
from app.workers.scope import WorkScope
from graph.hops import SKEW_TOLERANCE_SECONDS
from graph.model import Event

StoredListener = Callable[[str, Sequence[tuple[int, Event]]], None]

log = logging.getLogger("arbiter")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    admin_token: str
    admin_token_path: Path | None
    secrets: SecretBox
    demo: bool = False
    indexes: IndexRegistry = field(init=False)
    writer: Writer = field(init=False)
    """Commits every ingest write of the process, grouping concurrent ones."""
    listeners: list[StoredListener] = field(default_factory=list)
    """Called with (workspace, newly stored events) after each commit, on the feeder thread;
    must not block."""
    caches: dict[str, Any] = field(default_factory=dict)
    incidents: IncidentState = field(init=False)
    """The incident evaluator's alert dispatcher, per-workspace locks and last results."""
    connector_statuses: ConnectorStatuses = field(default_factory=ConnectorStatuses)
    scope: WorkScope = field(default_factory=WorkScope)
    """The workspaces whose background work this process does: all of them, unless it
    takes part in the leases of several workers on PostgreSQL (app.workers)."""
    """What pollers, receivers and checks report of each system, for the warning rules."""
    """Per-process caches of the services, each under its service's name."""
    _fed: queue.SimpleQueue[tuple[str, Sequence[tuple[int, Event]]] | threading.Event | None] = (
        field(init=False, default_factory=queue.SimpleQueue)
    )
    _feeder: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        skew = self.settings.clock_skew_seconds
        self.indexes = IndexRegistry(
            self.engine,
            skew_tolerance_seconds=SKEW_TOLERANCE_SECONDS if skew is None else skew,
            live_days=max(
                self.settings.store.index_live_days,
                self.settings.incidents.window_seconds / 86400 + 0.25,  # judged from memory
            ),
            snapshots=Snapshots(self.settings.store.data_dir / "index"),
        )
        self.writer = Writer(make_writer_engine(self.settings.store.resolved_database_url))
        self.incidents = IncidentState(Dispatcher(self.engine, self.settings, self.secrets))
        self._feeder = threading.Thread(target=self._feed, name="arbiter-feeder", daemon=True)
        self._feeder.start()

    def events_stored(self, workspace_id: str, stored: Sequence[tuple[int, Event]]) -> None:
        """Tell the index and every listener about events just committed to the store.

        Returns at once: the feeding runs on one thread of its own, in commit order, because
        it waits for the index lock that a diagnosis holds for seconds, and the caller is
        often the event loop. A diagnosis does not depend on it (each catches the index up
        from the store first); it only saves that read.
        """
        if stored:
            self._fed.put((workspace_id, stored))

    def settle(self) -> None:
        """Wait until every event stored so far has been fed (tests, benchmarks)."""
        done = threading.Event()
        self._fed.put(done)
        done.wait()

    def _feed(self) -> None:
        while (item := self._fed.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            workspace_id, stored = item
            try:
                self.indexes.feed(workspace_id, stored)
            except Exception:
                log.exception("feeding the index of %s failed", workspace_id)
            for listener in self.listeners:
                try:
                    listener(workspace_id, stored)
                except Exception:  # a listener's failure must never fail the ingest
                    log.exception("event listener %r failed", listener)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Connect to the store, migrate it, and make sure there is an admin token."""
        engine = make_engine(settings.store.resolved_database_url)
        migrate(engine)
        token, path = ensure_admin_token(settings)
        return cls(
            settings=settings,
            engine=engine,
            admin_token=token,
            admin_token_path=path,
            secrets=SecretBox.from_settings(settings),
            # Decided, with the demo's defaults, by app.demo.decide in the CLI; unset is off.
            demo=settings.demo.enabled is True,
        )

    def close(self) -> None:
        self.writer.close()
        self._fed.put(None)
        self._feeder.join()
        self.engine.dispose()
