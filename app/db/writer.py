"""Group commit: one thread makes every ingest write of the process, many callers per commit.

Concurrent callers (event batches, webhook deliveries, polls) each hand a unit of work (a
function of a connection) to :class:`Writer`. Its thread takes every unit waiting, runs each
in its own savepoint of one transaction, commits once, and only then answers each caller with
its unit's result (or its unit's exception: a failing unit rolls back its savepoint alone).
Nothing is answered before the commit that holds it, so nothing is acknowledged before it is
durable; and one fsync serves the whole group.

Why: with a transaction per request, concurrent requests queued for SQLite's single write
lock through the busy handler, which polls with sleeps of up to 100 ms and serves no one in
order, so a few unlucky requests waited for about a second (bench/README.md). Here the only
SQLite writer of the process is this thread, so ingest never waits on the busy handler.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger("arbiter.writer")

T = TypeVar("T")

MAX_GROUP = 512
"""Units per commit at most: bounds how long the first caller of a burst waits."""


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Connection], T]
    future: Future[T]


class WriterClosed(RuntimeError):
    """The writer was closed: the service is stopping."""


class Writer:
    """Runs units of work on one thread, committing every waiting unit together.

    ``engine`` must give this thread a connection whose transactions take the write lock at
    once (see :func:`app.db.engine.make_writer_engine`); the writer owns and disposes of it.
    """

    def __init__(self, engine: Engine, *, max_group: int = MAX_GROUP) -> None:
        self._engine = engine
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Unit[Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.commits = 0
        """Transactions committed so far (the benchmarks report units per commit)."""
        self._thread = threading.Thread(target=self._run, name="arbiter-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[Connection], T]) -> Future[T]:
        """Queue ``work``; the future resolves once the transaction holding it has committed."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise WriterClosed("the store's writer is closed")
            self._queue.put(_Unit(work, future))
        return future

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in the next group and wait for its commit (from any thread but this
        writer's own)."""
        return self.submit(work).result()

    async def run_async(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run` for the event loop: waits without holding a thread."""
        return await asyncio.wrap_future(self.submit(work))

    def close(self) -> None:
        """Commit what is queued, then stop the thread and release the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._engine.dispose()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group: list[_Unit[Any]] = [first]
            while len(group) < self._max_group:
                try:
                    unit = self._queue.get_nowait()
                except queue.Empty:
                    break
                if unit is None:
                    stopping = True
                    break
                group.append(unit)
            self._commit(group)

    def _commit(self, group: list[_Unit[Any]]) -> None:
        outcomes: list[tuple[bool, Any]] = []
        try:
            with self._engine.begin() as connection:
                for unit in group:
                    if not unit.future.set_running_or_notify_cancel():
                        outcomes.append((False, None))
                        continue
                    try:
                        with connection.begin_nested():
                            outcomes.append((True, unit.work(connection)))
                    except Exception as exc:  # that unit's failure, answered to its caller
                        outcomes.append((False, exc))
        except Exception as exc:  # the commit itself failed: nothing of the group is stored
            log.exception("a group commit of %d units failed", len(group))
            for unit in group:
                if not unit.future.done():
                    unit.future.set_exception(exc)
            return
        self.commits += 1
        for unit, (ok, value) in zip(group, outcomes, strict=True):
            if unit.future.cancelled():
                continue
            if ok:
                unit.future.set_result(value)
            else:
                unit.future.set_exception(value)
