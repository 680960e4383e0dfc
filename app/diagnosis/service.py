"""Keeps one in-memory ``WorkspaceIndex`` per workspace and answers diagnoses from it.

An index is built from the store the first time a workspace is diagnosed, fed with each batch
right after it is committed, and caught up from the store (events after the highest sequence
number it holds) before every answer, so events stored by another process are not missed.

It holds the live part of history only (``ARBITER_INDEX_LIVE_DAYS``): every journey with an
event in that period, whole, every journey still open (an order stuck for longer, quiet
since), and the link-level calls of that period; an hour after it was built or last trimmed it
is trimmed again. Each trim records the open journeys older than the period in the store
(``open_journeys``), and a new index reads them back, so a restart diagnoses as before. So
memory and the time to the first diagnosis after a restart follow the traffic of those days
(and the journeys left open), not the length of history. A question about
older history (a diagnosis whose window reaches before that period, a trace as of then, or of
an entity quiet since, an SLA report of an older period) is answered from an index built from
the store for that question alone.

A restart does not rebuild the index when it can load it: each trim, once the next diagnosis
is answered, and the shutdown write the index with its cached verdicts to the data dir
(app.diagnosis.snapshot), and a new process loads that and catches up from the store (events
after its high-water mark, and on PostgreSQL those received shortly before it was written).

On PostgreSQL, concurrent transactions of other processes can commit a lower sequence number
after a higher one was read; so each catch-up also re-reads the events received in the last
:data:`REREAD_SECONDS` (the index ignores ids it holds). A transaction that takes longer than
that to commit after taking its numbers is the one case left out until the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from app.db.tables import events
from app.diagnosis.snapshot import Snapshot, Snapshots
from app.diagnosis.tables import open_journeys
from app.events.models import read_stored
from app.events.service import iter_stored, journey_events, time_processor
from app.exceptions import NoTopology
from app.gil import held, held_then_frozen, release
from app.topology.service import get_topology
from app.workspaces.service import require_workspace
from graph.index import WorkspaceIndex
from graph.model import Event, Topology
from graph.results import Diagnosis, Trace

log = logging.getLogger("arbiter.diagnosis")

REREAD_SECONDS = 30.0

MARGIN_SECONDS = 6 * 3600.0
"""Loaded before the live period too, so the journeys that straddle its start are whole."""

TRIM_SECONDS = 3600.0

EXTEND = timedelta(days=7)
"""How far before the live period a question (the dashboard's 7-day window, a diagnosis as of
a few days ago) extends the index for an hour, instead of building one from the store each
time it is asked."""

MAX_JOURNEY_EVENTS = 50_000
"""A trace from the store reads at most this many events of one journey."""


@dataclass
class _Entry:
    index: WorkspaceIndex
    watermark: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    trimmed_at: float = field(default_factory=time.monotonic)
    latest: datetime | None = None
    """The time of the newest event seen: the live period ends there (or now, if earlier)."""
    reach: datetime | None = None
    """The earliest moment a recent question needed, when before the live period."""
    reached_at: float = 0.0
    held_open: list[tuple[str, str]] = field(default_factory=list)
    """One identifier of each open journey older than the live period, as last recorded."""
    trimmed_wall: datetime = field(default_factory=lambda: datetime.now(UTC))
    saved: tuple[object, ...] = ()
    """What the last snapshot written held (app.diagnosis.snapshot): see :meth:`_state`."""
    scanned: int = 0
    """SQLite: the store's highest sequence number at the last catch-up (every row up to it
    was read then, whichever workspace's)."""
    save_due: bool = False
    """Trimmed since: a snapshot is written after the next diagnosis (with its verdicts)."""
    saving: threading.Lock = field(default_factory=threading.Lock)
    """Held while a snapshot of the entry is written (one at a time: the same file)."""


class IndexRegistry:
    def __init__(
        self,
        engine: Engine,
        *,
        skew_tolerance_seconds: float,
        live_days: float = 2.0,
        snapshots: Snapshots | None = None,
    ) -> None:
        self._engine = engine
        self._snapshots = snapshots
        self._skew = skew_tolerance_seconds
        self._live = timedelta(days=live_days)
        # SQLite commits one writer at a time, in sequence order: nothing to re-read there.
        self._reread = REREAD_SECONDS if engine.dialect.name == "postgresql" else None
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def feed(self, workspace_id: str, stored: Iterable[tuple[int, Event]]) -> None:
        """Add freshly committed events to the workspace's index, if it is loaded."""
        entry = self._entries.get(workspace_id)
        if entry is None:
            return
        with entry.lock:
            self._add(entry, _untexted(stored))

    def drop(self, workspace_id: str) -> None:
        with self._lock:
            self._entries.pop(workspace_id, None)
            if self._snapshots is not None:
                self._snapshots.drop(workspace_id)

    def live_start(self, workspace_id: str) -> datetime:
        """Where the workspace's live period begins: older history is read from the store.

        The period ends now, or at the newest event if that is earlier (a workspace whose
        traffic stopped, or holds imported history, keeps its last days live).
        """
        # From the store (one indexed read): the index may not have been fed the newest yet.
        with self._engine.connect() as connection:
            latest = _latest_time(connection, workspace_id)
        now = datetime.now(UTC)
        return (min(now, latest) if latest is not None else now) - self._live

    def index(
        self, workspace_id: str, *, since: datetime | None = None
    ) -> tuple[WorkspaceIndex, threading.Lock]:
        """The workspace index, caught up with the store, and the lock to hold while reading.

        ``since``: the earliest moment the caller's question looks at. Up to :data:`EXTEND`
        before the live period, the index is extended to it (and kept so for an hour after
        the last such question); further back, an index of the store from ``since`` on is
        built for this question (with its own lock).
        """
        start = self.live_start(workspace_id)
        if since is not None and since < start - EXTEND:
            return self.history(workspace_id, since=since), threading.Lock()
        with self._lock:
            entry = self._entries.get(workspace_id)
            fresh = entry is None
            if entry is None:
                entry = self._entries[workspace_id] = _Entry(self._new())
        # A new index is millions of objects: built without collector pauses (app/gil.py).
        building = held_then_frozen() if fresh else nullcontext()
        with building, entry.lock, self._engine.connect() as connection:
            restored = fresh and self._restore(entry, connection, workspace_id)
            if fresh and not restored:
                self._load(entry, connection, workspace_id)
                self._reload_open(entry, connection, workspace_id)
            if since is not None and since < start:
                held_from = min(start, entry.reach or start)
                if since < held_from:
                    self._add(
                        entry,
                        stored_between(
                            connection,
                            workspace_id,
                            since - timedelta(seconds=MARGIN_SECONDS),
                            until=held_from,
                            until_seq=entry.watermark,
                        ),
                        floor=since,
                    )
                    entry.reach = since
                entry.reached_at = time.monotonic()
            if self._reread is not None and entry.watermark:
                since_received = datetime.now(UTC) - timedelta(seconds=self._reread)
                self._add(
                    entry,
                    _untexted(iter_stored(connection, workspace_id, received_since=since_received)),
                )
            self._add(entry, _stored_after(connection, workspace_id, entry))
            if (fresh and not restored) or time.monotonic() - entry.trimmed_at > TRIM_SECONDS:
                if entry.reach is not None and time.monotonic() - entry.reached_at > TRIM_SECONDS:
                    entry.reach = None
                cut = self.live_start(workspace_id)
                held = entry.index.open_before(cut, keep=entry.held_open)
                replaced: list[object] = [entry.index]
                entry.index = entry.index.live_since(
                    min(cut, entry.reach or cut), keep=entry.held_open
                )
                # In pieces (dropped at once it held the GIL for a second), on a thread of its
                # own, once the answer being made with the new index is out.
                threading.Thread(
                    target=_release_after,
                    args=(entry.lock, replaced),
                    name="arbiter-index-release",
                    daemon=True,
                ).start()
                entry.trimmed_at = time.monotonic()
                entry.trimmed_wall = datetime.now(UTC)
                if held != entry.held_open:
                    self._record_open(workspace_id, held)
                    entry.held_open = held
                entry.save_due = self._snapshots is not None
        return entry.index, entry.lock

    def _restore(self, entry: _Entry, connection: Connection, workspace_id: str) -> bool:
        """Fill a new entry from the workspace's snapshot, when there is one to trust: of this
        store (the event under its high-water mark is the one it names) and not older than the
        live period. The caller then catches it up from the store as any index."""
        if self._snapshots is None:
            return False
        snapshot = self._snapshots.load(workspace_id)
        if snapshot is None:
            return False
        stored = connection.execute(
            select(events.c.event_id).where(
                events.c.workspace_id == workspace_id, events.c.seq == snapshot.watermark
            )
        ).scalar_one_or_none()
        if stored != snapshot.watermark_event:
            log.warning("index snapshot of %s ignored: not of this store", workspace_id)
            return False
        if snapshot.latest is None or snapshot.latest < self.live_start(workspace_id):
            return False  # older than the live period: rebuilding reads less
        entry.index = snapshot.index
        entry.watermark = snapshot.watermark
        entry.latest = snapshot.latest
        entry.held_open = snapshot.held_open
        entry.trimmed_wall = snapshot.trimmed
        entry.saved = _state(entry)
        since_trim = (datetime.now(UTC) - snapshot.trimmed).total_seconds()
        entry.trimmed_at = time.monotonic() - max(0.0, since_trim)
        if self._reread is not None:  # committed late, under a lower number than it holds
            received = snapshot.saved - timedelta(seconds=self._reread)
            self._add(
                entry, _untexted(iter_stored(connection, workspace_id, received_since=received))
            )
        # Open journeys a trim recorded after the snapshot was written (by this process before
        # it stopped, or another): read back as a rebuild would.
        self._reload_open(entry, connection, workspace_id, known=snapshot.held_open)
        return True

    def save(self, workspace_id: str) -> None:
        """Write the workspace's snapshot, when its index is loaded and changed since the last
        one. An index extended before the live period (a question about the last days, asked
        again and again by an open dashboard) is written trimmed to the period, as a restart
        would hold it.

        The index's lock is held only while it is copied (a fraction of a second where writing
        it held the lock for seconds, every diagnosis waiting): the copy is written after."""
        entry = self._entries.get(workspace_id)
        if entry is None or self._snapshots is None:
            return
        try:
            with entry.saving, held():
                with entry.lock:
                    snapshot = self._snapshot(entry, workspace_id)
                    state = _state(entry)
                if snapshot is None:
                    return
                self._snapshots.save(workspace_id, snapshot)
                with entry.lock:
                    entry.saved = state
                    entry.save_due = False
                copied: list[object] = [snapshot.index]
                del snapshot
                release(copied)  # its containers in pieces (70 ms at once for 450,000 events)
            if self._entries.get(workspace_id) is not entry:  # dropped meanwhile
                self._snapshots.drop(workspace_id)
        except Exception:  # a cache: the next start rebuilds from the store
            log.exception("saving the index snapshot of %s failed", workspace_id)

    def _snapshot(self, entry: _Entry, workspace_id: str) -> Snapshot | None:
        """A snapshot of the entry, its index copied (the caller holds its lock); None when
        there is nothing new to write."""
        if not entry.watermark or _state(entry) == entry.saved:
            return None
        with self._engine.connect() as connection:
            event_id = connection.execute(
                select(events.c.event_id).where(
                    events.c.workspace_id == workspace_id, events.c.seq == entry.watermark
                )
            ).scalar_one_or_none()
        if event_id is None or self._entries.get(workspace_id) is not entry:
            return None
        if entry.reach is None:
            index, trimmed = entry.index.copy(), entry.trimmed_wall
        else:
            cut = self.live_start(workspace_id)
            index, trimmed = entry.index.live_since(cut, keep=entry.held_open), datetime.now(UTC)
        return Snapshot(
            index=index,
            watermark=entry.watermark,
            watermark_event=event_id,
            latest=entry.latest,
            held_open=list(entry.held_open),
            trimmed=trimmed,
            saved=datetime.now(UTC),
        )

    def save_all(self) -> None:
        """Snapshot every loaded index (at shutdown)."""
        for workspace_id in list(self._entries):
            self.save(workspace_id)

    def _new(self) -> WorkspaceIndex:
        return WorkspaceIndex(skew_tolerance_seconds=self._skew)

    def _load(self, entry: _Entry, connection: Connection, workspace_id: str) -> None:
        """Fill a new entry with the live period and the margin before it (the caller trims
        it to the journeys of the period)."""
        entry.latest = _latest_time(connection, workspace_id)
        start = self.live_start(workspace_id)
        # One statement: what it reads is one state of the store, and its highest sequence
        # number the mark the catch-up reads after (the workspace's highest of all its rows,
        # asked first, took a fifth of a rebuild at 30 days: a walk of all of them).
        self._add(
            entry,
            stored_between(connection, workspace_id, start - timedelta(seconds=MARGIN_SECONDS)),
        )

    def _reload_open(
        self,
        entry: _Entry,
        connection: Connection,
        workspace_id: str,
        *,
        known: Iterable[tuple[str, str]] = (),
    ) -> None:
        """Read back the open journeys recorded older than the live period, whole (but those
        ``known``, held already)."""
        rows = connection.execute(
            select(open_journeys.c.namespace, open_journeys.c.value).where(
                open_journeys.c.workspace_id == workspace_id
            )
        ).all()
        entry.held_open = sorted((row.namespace, row.value) for row in rows)
        for ref in sorted(set(entry.held_open) - set(known)):
            entry.index.add(journey_events(connection, workspace_id, ref, limit=MAX_JOURNEY_EVENTS))

    def _record_open(self, workspace_id: str, held: list[tuple[str, str]]) -> None:
        now = datetime.now(UTC)
        try:
            with self._engine.begin() as connection:
                connection.execute(
                    delete(open_journeys).where(open_journeys.c.workspace_id == workspace_id)
                )
                if held:
                    connection.execute(
                        insert(open_journeys),
                        [
                            {"workspace_id": workspace_id, "namespace": namespace,
                             "value": value, "recorded_at": now}
                            for namespace, value in held
                        ],
                    )  # fmt: skip
        except Exception:  # a diagnosis never fails for it: the next trim records them again
            log.exception("recording the open journeys of %s failed", workspace_id)

    def history(
        self, workspace_id: str, *, since: datetime, until: datetime | None = None
    ) -> WorkspaceIndex:
        """An index of the store's events from ``since`` (less the margin) to ``until`` (plus
        the margin), for one question about older history."""
        index = self._new()
        with self._engine.connect() as connection:
            index.add(
                event
                for _seq, event, _text in stored_between(
                    connection,
                    workspace_id,
                    since - timedelta(seconds=MARGIN_SECONDS),
                    until=until + timedelta(seconds=MARGIN_SECONDS) if until is not None else None,
                )
            )
        return index

    def journey(self, workspace_id: str, namespace: str, value: str) -> WorkspaceIndex:
        """An index of every stored event of the journey that ``namespace:value`` names."""
        index = self._new()
        with self._engine.connect() as connection:
            index.add(journey_events(connection, workspace_id, (namespace, value)))
        return index

    def _add(
        self, entry: _Entry, stored: Iterable[Stored], *, floor: datetime | None = None
    ) -> None:
        # An event from before the period held (and its margin) that arrives now (a backfill,
        # a late replay) is history: left to the store, as a restart would leave it.
        now = datetime.now(UTC)
        margin = timedelta(seconds=MARGIN_SECONDS)
        reach = min(filter(None, (floor, entry.reach)), default=None)

        def oldest_held(end: datetime) -> datetime:
            held_from = end - self._live if reach is None else min(end - self._live, reach)
            return held_from - margin

        end = min(now, entry.latest) if entry.latest is not None else None
        oldest = oldest_held(end) if end is not None else datetime.min.replace(tzinfo=UTC)
        batch: list[Event] = []
        texts: list[str | None] = []
        for seq, event, text in stored:
            if seq > entry.watermark:
                entry.watermark = seq
            moment = event.time
            if end is None or moment > end:
                end = min(now, moment)
                entry.latest = max(entry.latest or moment, moment)
                oldest = oldest_held(end)  # only when the period moves, not for every event
            if moment < oldest:
                continue
            batch.append(event)
            texts.append(text)
            if len(batch) >= 10_000:
                entry.index.add(batch, texts)
                batch, texts = [], []
        if batch:
            entry.index.add(batch, texts)

    def topology(self, workspace_id: str) -> Topology:
        with self._engine.connect() as connection:
            require_workspace(connection, workspace_id)
            topology = get_topology(connection, workspace_id)
        if topology is None:
            raise NoTopology(workspace_id)
        return topology

    def diagnose(self, workspace_id: str, as_of: datetime, window_seconds: float) -> Diagnosis:
        topology = self.topology(workspace_id)
        since = as_of - timedelta(seconds=window_seconds)
        if since < self.live_start(workspace_id) - EXTEND:
            index = self.history(workspace_id, since=since, until=as_of)
            return index.diagnose(topology, as_of=as_of, window_seconds=window_seconds)
        # The first, cold, pass judges every journey: its verdicts stay, like the index.
        cold = held_then_frozen() if workspace_id not in self._entries else nullcontext()
        with cold:
            live, lock = self.index(workspace_id, since=since)
            with lock:
                found = live.diagnose(topology, as_of=as_of, window_seconds=window_seconds)
        entry = self._entries.get(workspace_id)
        if entry is not None and entry.save_due:
            entry.save_due = False
            # On its own thread, once this answer is out.
            threading.Thread(
                target=self.save, args=(workspace_id,), name="arbiter-index-snapshot", daemon=True
            ).start()
        return found

    def trace(self, workspace_id: str, namespace: str, value: str, as_of: datetime) -> Trace | None:
        topology = self.topology(workspace_id)
        if as_of >= self.live_start(workspace_id):
            live, lock = self.index(workspace_id)
            with lock:
                found = live.trace(topology, namespace, value, as_of=as_of)
            if found is not None:
                return found
        # Quiet since before the live period, or asked as of then: from the store.
        return self.journey(workspace_id, namespace, value).trace(
            topology, namespace, value, as_of=as_of
        )


def _state(entry: _Entry) -> tuple[object, ...]:
    """What a snapshot of the entry depends on: the events it holds, its last trim and the
    open journeys it keeps (a trim changes what it holds without any new event)."""
    return (entry.watermark, entry.trimmed_wall, tuple(entry.held_open))


def _release_after(lock: threading.Lock, replaced: list[object]) -> None:
    """Release ``replaced`` once the caller that trimmed it has answered with the new index: it
    takes ``lock`` again at once (a moment's head start), and the cold judging after a rebuild
    then has the interpreter to itself (releasing meanwhile made it 0.3-0.6 s slower)."""
    time.sleep(0.05)
    with lock:
        pass
    release(replaced)


Stored = tuple[int, Event, str | None]
"""A stored event: its sequence number, the event and, when read with it, its stored JSON (the
index keeps that text for traces instead of making it again)."""


def _untexted(stored: Iterable[tuple[int, Event]]) -> Iterator[Stored]:
    return ((seq, event, None) for seq, event in stored)


def _latest_time(connection: Connection, workspace_id: str) -> datetime | None:
    latest: datetime | None = connection.execute(
        select(func.max(events.c.time)).where(events.c.workspace_id == workspace_id)
    ).scalar_one()
    return latest


def stored_between(
    connection: Connection,
    workspace_id: str,
    since: datetime,
    *,
    until: datetime | None = None,
    until_seq: int | None = None,
) -> Iterator[Stored]:
    """The workspace's stored events with a time in ``[since, until]`` (and a sequence number up
    to ``until_seq``), in time order: one read along the (workspace, time, seq) index, streamed.

    Read in pieces in sequence order instead (``iter_stored``), each piece sorted the period's
    rows again: at 30 days of 50,000 orders a day that first read of a restart took most of a
    minute (bench/README.md, ``lifetime.py``).
    """
    read = _between_sqlite if connection.dialect.name == "sqlite" else _between
    for seq, body in read(connection, workspace_id, since, until, until_seq):
        event = read_stored(workspace_id, seq, body)
        if event is not None:
            yield seq, event, body


def _between_sqlite(
    connection: Connection,
    workspace_id: str,
    since: datetime,
    until: datetime | None,
    until_seq: int | None,
) -> Iterator[tuple[int, str]]:
    """The rows of :func:`stored_between` through the driver's own cursor, which streams them
    (the statement layer's rows were a tenth of a rebuild's read: 10.7-11.0 -> 10.5-10.8 s at 30
    days of 50,000 orders a day)."""
    as_stored = time_processor(connection.dialect)
    sql = "SELECT seq, body FROM events WHERE workspace_id = ? AND time >= ?"
    params: list[object] = [workspace_id, as_stored(since)]
    if until is not None:
        sql += " AND time <= ?"
        params.append(as_stored(until))
    if until_seq is not None:
        sql += " AND seq <= ?"
        params.append(until_seq)
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql + " ORDER BY time, seq", tuple(params))
        while rows := cursor.fetchmany(5000):
            yield from rows
    finally:
        cursor.close()


def _between(
    connection: Connection,
    workspace_id: str,
    since: datetime,
    until: datetime | None,
    until_seq: int | None,
) -> Iterable[tuple[int, str]]:
    query = select(events.c.seq, events.c.body).where(
        events.c.workspace_id == workspace_id, events.c.time >= since
    )
    if until is not None:
        query = query.where(events.c.time <= until)
    if until_seq is not None:
        query = query.where(events.c.seq <= until_seq)
    query = query.order_by(events.c.time, events.c.seq).execution_options(yield_per=5000)
    return connection.execute(query)


_AFTER_SQLITE = (
    "SELECT seq, body FROM events NOT INDEXED"
    " WHERE seq > ? AND seq <= ? AND workspace_id = ? ORDER BY seq"
)


def _stored_after(connection: Connection, workspace_id: str, entry: _Entry) -> Iterator[Stored]:
    """The workspace's events stored after the entry's high-water mark, in sequence order: the
    catch-up before every answer.

    On SQLite along the sequence numbers themselves (the table's rowid): its planner took the
    (workspace, time) index and sorted all the workspace's rows instead, every time (1.2 s at
    30 days of 50,000 orders a day, a third of a restart). One writer commits there in sequence
    order, so the rows up to the highest number read are all in; the next catch-up starts
    after them, however few of them were the workspace's.
    """
    if connection.dialect.name != "sqlite":
        yield from _untexted(iter_stored(connection, workspace_id, after_seq=entry.watermark))
        return
    top = connection.execute(select(func.max(events.c.seq))).scalar_one() or 0
    after = max(entry.watermark, entry.scanned)
    rows = connection.exec_driver_sql(_AFTER_SQLITE, (after, top, workspace_id))
    for seq, body in rows:
        event = read_stored(workspace_id, seq, body)
        if event is not None:
            yield seq, event, body
    entry.scanned = top
