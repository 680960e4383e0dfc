"""The writer's SQLite checkpoints: made by a thread of their own, not after the writer's
commits, and the write-ahead log kept bounded under a steady stream of commits."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from app.db import writer as writer_module
from app.db.engine import make_writer_engine
from app.db.writer import Writer
from tests.conftest import eventually

ROW = 4000  # about a page each


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "w.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.execute(text("CREATE TABLE t (x INTEGER PRIMARY KEY, body BLOB)"))
    engine.dispose()
    return path


def _insert(n: int) -> Callable[[Connection], None]:
    def work(connection: Connection) -> None:
        connection.execute(text("INSERT INTO t VALUES (:x, :body)"), {"x": n, "body": b"x" * ROW})

    return work


def test_the_writer_does_not_checkpoint_after_its_commits_its_checkpointer_does(
    database: Path,
) -> None:
    writer = Writer(make_writer_engine(f"sqlite:///{database}"))
    try:
        auto = writer.run(lambda c: c.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar())
        assert auto == 0
        size = database.stat().st_size
        for n in range(300):  # about 1.2 MB, each its own commit
            writer.run(_insert(n))
        # In WAL mode the database file grows only by checkpoints: the checkpointer's.
        eventually(lambda: database.stat().st_size > size + 1_000_000, 10, "a checkpoint")
    finally:
        writer.close()


def test_the_log_stays_bounded_under_a_steady_stream_of_commits(
    database: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "CHECKPOINT_PAGES", 64)
    monkeypatch.setattr(writer_module, "CHECKPOINT_PAUSE", 0.01)
    writer = Writer(make_writer_engine(f"sqlite:///{database}"))
    try:
        for n in range(2000):  # about 8 MB, no pause between commits
            writer.run(_insert(n))
        log = os.stat(f"{database}-wal").st_size
        # The log restarts once a checkpoint has copied all of it: it stays near 64 pages
        # (a checkpoint may be a pause and a few hundred pages behind), far below 8 MB.
        assert log < 2_000_000, log
        assert writer.run(lambda c: c.exec_driver_sql("SELECT count(*) FROM t").scalar()) == 2000
    finally:
        writer.close()


def test_no_checkpointer_for_an_in_memory_database() -> None:
    writer = Writer(make_writer_engine("sqlite://"))
    try:
        assert writer._checkpointer is None
        writer.run(lambda c: c.exec_driver_sql("CREATE TABLE t (x INTEGER)"))
    finally:
        writer.close()
