"""The store the lease tests run on: a fresh, migrated PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from app.db.engine import make_engine, migrate
from tests.conftest import fresh_postgres_database


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    with fresh_postgres_database(postgres_url) as url:
        engine = make_engine(url)
        migrate(engine)
        try:
            yield engine
        finally:
            engine.dispose()
