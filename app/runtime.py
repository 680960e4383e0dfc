"""What the running service holds: settings, the store's engine, the admin token, the indexes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from app.auth.service import ensure_admin_token
from app.connections.crypto import SecretBox
from app.db.engine import make_engine, migrate
from app.diagnosis.service import IndexRegistry
from app.settings import Settings
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
    indexes: IndexRegistry = field(init=False)
    listeners: list[StoredListener] = field(default_factory=list)
    """Called with (workspace, newly stored events) after each commit; must not block."""

    def __post_init__(self) -> None:
        self.indexes = IndexRegistry(self.engine)

    def events_stored(self, workspace_id: str, stored: Sequence[tuple[int, Event]]) -> None:
        """Tell the index and every listener about events just committed to the store."""
        if not stored:
            return
        self.indexes.feed(workspace_id, stored)
        for listener in self.listeners:
            try:
                listener(workspace_id, stored)
            except Exception:  # a listener's failure must never fail the ingest that succeeded
                log.exception("event listener %r failed", listener)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Connect to the store, migrate it, and make sure there is an admin token."""
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        token, path = ensure_admin_token(settings)
        return cls(
            settings=settings,
            engine=engine,
            admin_token=token,
            admin_token_path=path,
            secrets=SecretBox.from_settings(settings),
        )

    def close(self) -> None:
        self.engine.dispose()
