"""What the running service holds: settings, the store's engine, the admin token, the indexes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from app.auth.service import ensure_admin_token
from app.db.engine import make_engine, migrate
from app.diagnosis.service import IndexRegistry
from app.settings import Settings

log = logging.getLogger("arbiter")


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    admin_token: str
    admin_token_path: Path | None
    indexes: IndexRegistry = field(init=False)

    def __post_init__(self) -> None:
        self.indexes = IndexRegistry(self.engine)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Connect to the store, migrate it, and make sure there is an admin token."""
        engine = make_engine(settings.resolved_database_url)
        migrate(engine)
        token, path = ensure_admin_token(settings)
        return cls(settings=settings, engine=engine, admin_token=token, admin_token_path=path)

    def close(self) -> None:
        self.engine.dispose()
