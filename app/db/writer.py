"""Group commit: one thread makes every ingest write of the process, many callers per commit.

Concurrent callers (event batches, webhook deliveries, polls) each hand a unit of work (a
function of a connection) to :class:`Writer`. Its thread takes every unit waiting, runs each
in its own savepoint of one transaction, commits once, and only then answers each caller with
its unit's result (or its unit's exception: a failing unit rolls back its savepoint alone).
Nothing is answered before the commit that holds it, so nothing is acknowledged before it is
durable; and one fsync serves the whole group.

A *batched* unit (:meth:`Writer.submit_batched`) is one item for a function that takes a list:
every item of the same function waiting in a group is done by one call in one savepoint (the
webhook receiver inserts a group's deliveries with one statement this way); when that call
fails, each of its items is done again alone in its own savepoint, so a failing item fails
alone here too.

Why: with a transaction per request, concurrent requests queued for SQLite's single write
lock through the busy handler, which polls with sleeps of up to 100 ms and serves no one in
order, so a few unlucky requests waited for about a second (bench/README.md). Here the only
SQLite writer of the process is this thread, so ingest never waits on the busy handler.

On SQLite the write-ahead log is copied back into the database file (a checkpoint) by a
thread of its own (:class:`_Checkpointer`), not by this one after every thousand pages, as
SQLite does by default: a checkpoint writes and syncs the database file, and while this thread
did it no group could commit (under a burst of webhooks the slowest commits took 25-43 ms
with SQLite's own checkpoints, 15-17 ms with this thread's: bench/README.md).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine, event

from app.db.driver import savepoint

log = logging.getLogger("arbiter.writer")

T = TypeVar("T")
Item = TypeVar("Item")

Batched = Callable[[Connection, list[Item]], list[T]]
"""Does a list of items in the caller's transaction; one result per item, in their order. It
may have a method ``committed(items, results)``, called on the writer's thread once per commit
with the items that commit stored, before their callers are answered."""

MAX_GROUP = 512
"""Units per commit at most: bounds how long the first caller of a burst waits."""


@dataclass
class _Unit(Generic[T]):
    work: Callable[[Connection], T]
    future: Future[T]
    waiter: asyncio.Future[T] | None = None
    """The event loop's future of an async caller, answered with the group's others."""


@dataclass
class _Item(Generic[Item, T]):
    batch: Batched[Item, T]
    item: Item
    future: Future[T]
    waiter: asyncio.Future[T] | None = None


CHECKPOINT_PAGES = 8192
"""SQLite: write-ahead log pages (4 KiB each) past which this thread checkpoints after its
commit. The checkpointer thread copies the log while the writer appends to it, but the log is
only restarted from its beginning when a checkpoint has copied all of it, which under a steady
stream of commits it may never catch; one here, with the log nearly all copied already, does
(the log stays under about this size, as SQLite's own 1,000-page rule kept it)."""

CHECKPOINT_PAUSE = 0.2
"""Seconds the checkpointer rests between checkpoints."""


class _Checkpointer:
    """Checkpoints a SQLite database in WAL mode on a thread and connection of its own, when
    told a commit was made (at most every :data:`CHECKPOINT_PAUSE`). A ``PASSIVE`` checkpoint
    takes no lock that the writer waits for."""

    def __init__(self, database: str) -> None:
        self.behind = False
        """The log was longer than :data:`CHECKPOINT_PAGES` after the last checkpoint."""
        self._database = database
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="arbiter-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        connection = sqlite3.connect(self._database, timeout=30, isolation_level=None)
        try:
            while True:
                self._wake.wait()
                if self._closed:
                    return
                self._wake.clear()
                try:
                    _busy, pages, _copied = checkpoint(connection)
                except sqlite3.Error:  # tried again after the next commit
                    log.warning("a checkpoint of the store failed", exc_info=True)
                else:
                    self.behind = pages > CHECKPOINT_PAGES
                time.sleep(CHECKPOINT_PAUSE)
        finally:
            connection.close()


def checkpoint(connection: sqlite3.Connection) -> tuple[int, int, int]:
    """A ``PASSIVE`` checkpoint: (busy, pages in the log, pages copied)."""
    row = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def _own_checkpoints(engine: Engine) -> _Checkpointer | None:
    """On a SQLite file: the writer's connection stops checkpointing after its commits, and
    the checkpointer that does it instead (None elsewhere: PostgreSQL, an in-memory database)."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):  # a URI (a shared in-memory database): SQLite's own
        return None
    event.listen(engine, "connect", _no_autocheckpoint)  # on a reconnection too
    connection = engine.raw_connection()
    try:
        _no_autocheckpoint(connection.driver_connection, None)
    finally:
        connection.close()
    return _Checkpointer(database)


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


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
        self._queue: queue.SimpleQueue[_Unit[Any] | _Item[Any, Any] | None] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self.commits = 0
        """Transactions committed so far (the benchmarks report units per commit)."""
        self._checkpointer = _own_checkpoints(engine)
        self._thread = threading.Thread(target=self._run, name="arbiter-writer", daemon=True)
        self._thread.start()

    def submit(self, work: Callable[[Connection], T]) -> Future[T]:
        """Queue ``work``; the future resolves once the transaction holding it has committed."""
        future: Future[T] = Future()
        self._put(_Unit(work, future))
        return future

    def submit_batched(self, batch: Batched[Item, T], item: Item) -> Future[T]:
        """Queue ``item`` for ``batch``, done together with the other items of ``batch`` that
        are waiting; the future resolves once the transaction holding it has committed."""
        future: Future[T] = Future()
        self._put(_Item(batch, item, future))
        return future

    async def run_batched_async(self, batch: Batched[Item, T], item: Item) -> T:
        """:meth:`submit_batched` for the event loop: waits without holding a thread."""
        return await self._wait(_Item(batch, item, Future()))

    async def _wait(self, unit: _Unit[T] | _Item[Any, T]) -> T:
        # Answered by one wake-up of the loop per group (see _wake), not one per caller.
        unit.waiter = asyncio.get_running_loop().create_future()
        self._put(unit)
        try:
            return await unit.waiter
        except asyncio.CancelledError:
            unit.future.cancel()  # skipped when its group has not started yet
            raise

    def _put(self, unit: _Unit[Any] | _Item[Any, Any]) -> None:
        with self._lock:
            if self._closed:
                raise WriterClosed("the store's writer is closed")
            self._queue.put(unit)

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in the next group and wait for its commit (from any thread but this
        writer's own)."""
        return self.submit(work).result()

    async def run_async(self, work: Callable[[Connection], T]) -> T:
        """:meth:`run` for the event loop: waits without holding a thread."""
        return await self._wait(_Unit(work, Future()))

    def close(self) -> None:
        """Commit what is queued, then stop the thread and release the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._engine.dispose()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                break
            group: list[_Unit[Any] | _Item[Any, Any]] = [first]
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

    def _commit(self, group: list[_Unit[Any] | _Item[Any, Any]]) -> None:
        outcomes: dict[int, tuple[bool, Any]] = {}
        try:
            with self._engine.begin() as connection:
                for step in _steps(group):
                    if isinstance(step, _Unit):
                        outcomes[id(step)] = _run_unit(connection, step)
                    else:
                        outcomes.update(_run_items(connection, step))
        except Exception as exc:  # the commit itself failed: nothing of the group is stored
            log.exception("a group commit of %d units failed", len(group))
            for unit in group:
                if not unit.future.done():
                    unit.future.set_exception(exc)
            _wake(group)
            return
        self.commits += 1
        self._checkpoint()
        _committed(group, outcomes)
        for unit in group:
            if unit.future.cancelled() or id(unit) not in outcomes:
                continue
            ok, value = outcomes[id(unit)]
            if ok:
                unit.future.set_result(value)
            else:
                unit.future.set_exception(value)
        _wake(group)

    def _checkpoint(self) -> None:
        """Tell the checkpointer of the commit, or checkpoint here when it is behind."""
        if self._checkpointer is None:
            return
        if not self._checkpointer.behind:
            self._checkpointer.committed()
            return
        self._checkpointer.behind = False
        connection = self._engine.raw_connection()
        try:
            checkpoint(connection.driver_connection)  # type: ignore[arg-type]
        except sqlite3.Error:  # the checkpointer tries again
            log.warning("a checkpoint of the store failed", exc_info=True)
        finally:
            connection.close()


def _committed(group: list[_Unit[Any] | _Item[Any, Any]], outcomes: dict[int, Any]) -> None:
    """Call ``committed(items, results)`` of each batch that has one, with its items stored
    in this commit: once per group (feeding the index per delivery from the event loop woke
    the feeder thread once per delivery)."""
    done: dict[Any, list[tuple[Any, Any]]] = {}
    for unit in group:
        if isinstance(unit, _Item) and outcomes.get(id(unit), (False,))[0]:
            done.setdefault(unit.batch, []).append((unit.item, outcomes[id(unit)][1]))
    for batch, pairs in done.items():
        hook = getattr(batch, "committed", None)
        if hook is None:
            continue
        try:
            hook([item for item, _ in pairs], [result for _, result in pairs])
        except Exception:  # the data is committed; a failing hook must not unanswer it
            log.exception("after-commit hook of %r failed", batch)


def _wake(group: list[_Unit[Any] | _Item[Any, Any]]) -> None:
    """Answer the async callers of a finished group: one call into each event loop."""
    waiting: dict[asyncio.AbstractEventLoop, list[_Unit[Any] | _Item[Any, Any]]] = {}
    for unit in group:
        if unit.waiter is not None:
            waiting.setdefault(unit.waiter.get_loop(), []).append(unit)
    for loop, units in waiting.items():
        try:
            loop.call_soon_threadsafe(_answer, units)
        except RuntimeError:  # that loop is closed: no one is waiting any more
            continue


def _answer(units: list[_Unit[Any] | _Item[Any, Any]]) -> None:
    for unit in units:
        waiter, future = unit.waiter, unit.future
        if waiter is None or waiter.done():
            continue
        if future.cancelled():
            waiter.cancel()
        elif (exc := future.exception()) is not None:
            waiter.set_exception(exc)
        else:
            waiter.set_result(future.result())


def _steps(group: list[_Unit[Any] | _Item[Any, Any]]) -> list[_Unit[Any] | list[_Item[Any, Any]]]:
    """The group in arrival order, each batch's items gathered at the place of its first."""
    steps: list[_Unit[Any] | list[_Item[Any, Any]]] = []
    batches: dict[Any, list[_Item[Any, Any]]] = {}
    for unit in group:
        if not unit.future.set_running_or_notify_cancel():
            continue
        if isinstance(unit, _Unit):
            steps.append(unit)
        elif unit.batch in batches:
            batches[unit.batch].append(unit)
        else:
            batches[unit.batch] = [unit]
            steps.append(batches[unit.batch])
    return steps


def _run_unit(connection: Connection, unit: _Unit[Any]) -> tuple[bool, Any]:
    try:
        with savepoint(connection):
            return True, unit.work(connection)
    except Exception as exc:  # that unit's failure, answered to its caller
        return False, exc


def _run_items(connection: Connection, items: list[_Item[Any, Any]]) -> dict[int, tuple[bool, Any]]:
    batch = items[0].batch
    if len(items) > 1:
        try:
            with savepoint(connection):
                results = batch(connection, [item.item for item in items])
                if len(results) != len(items):
                    raise RuntimeError(f"{batch!r} answered {len(results)} of {len(items)} items")
            return {id(item): (True, result) for item, result in zip(items, results, strict=True)}
        except Exception:  # rolled back: each item is done alone, so only the bad one fails
            log.warning("a batch of %d items failed; each is done alone", len(items), exc_info=True)
    return {
        id(item): _run_unit(connection, _Unit(partial(_one, batch, item.item), item.future))
        for item in items
    }


def _one(batch: Batched[Item, T], item: Item, connection: Connection) -> T:
    (result,) = batch(connection, [item])
    return result
