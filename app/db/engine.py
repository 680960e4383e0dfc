"""Connecting to the store: SQLite tuned for durability, or PostgreSQL, through one code path."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from app.db import driver

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATE_LOCK = 0x4D696772617465  # "Migrate"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, full fsync on commit and enforced foreign keys.

    ``synchronous=FULL`` makes a committed batch survive a process kill and a power cut, which
    is what answering 202 promises.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if (
        parsed.database
        and parsed.database != ":memory:"
        and not parsed.database.startswith("file:")
    ):
        private_file(Path(parsed.database))
    # As many connections as the server has worker threads: a connection opened over the pool
    # size is closed on return, and opening one (with its pragmas) cost a burst of requests
    # more than their queries did.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=40,
        max_overflow=10,
    )
    event.listen(engine, "connect", _pragmas)
    return engine


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_writer_engine(url: str) -> Engine:
    """The one connection of :class:`app.db.writer.Writer`.

    On SQLite its transactions begin with ``BEGIN IMMEDIATE``: the write lock is taken before
    the first read, so a transaction never has to upgrade a read snapshot that another
    process's commit made stale (an error SQLite does not retry), and savepoints nest inside
    the transaction (the driver's own transaction handling is turned off for that).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=1, max_overflow=0)
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool,
    )

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        _pragmas(dbapi_connection, record)
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        driver.execute(connection, "BEGIN IMMEDIATE")

    return engine


def private_dir(path: Path) -> None:
    """Create ``path`` (mode 0700) when it is missing: it holds raw webhook bodies, order data
    and secrets, for the service's account only. An existing directory is left as it is (the
    operator chose it; it may be shared, like /tmp)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def private_file(database: Path) -> None:
    """Make the SQLite file (and its -wal and -shm files, if any) readable by the owner only.

    The file is created here, 0600, before SQLite opens it: SQLite gives the -wal and -shm files
    it creates later the mode of the database file.
    """
    private_dir(database.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError, PermissionError):
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)


def migrate(engine: Engine) -> None:
    """Bring the schema to every newest migration (run at each start; a no-op when current).

    Each domain adds its tables in its own branch off 0001, hence "heads".
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Processes started together (API processes and workers) migrate one at a time.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
