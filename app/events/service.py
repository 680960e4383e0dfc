"""Ingest and read back events: validate a whole batch, then store it in one transaction.

The store is append-only and idempotent: ``(workspace, event id)`` is unique, and an event whose
id the workspace already holds is a duplicate that changes nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import Connection, Dialect, Engine, and_, or_, select, tuple_

from app.db import driver, partitions
from app.db.tables import event_refs, events
from app.db.writer import Writer
from app.events.models import (
    read_stored,
    read_stored_json,
    storable,
    storable_problems,
    within_range,
)
from app.exceptions import Invalid, NoTopology, Problem, TooLarge, pydantic_problems
from app.topology.service import get_topology
from app.workspaces.service import require_workspace
from graph.model import ARBITER_SYSTEM, Event, Topology

MAX_BATCH = 10_000
NDJSON = ("application/x-ndjson", "application/jsonl")
MAX_PAGE = 1000


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(text: str | bytes) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError as exc:  # nesting deeper than the parser's stack: bad input, no 500
        raise ValueError("nested too deeply") from exc


def parse_batch(body: bytes, content_type: str) -> list[Any]:
    """The raw items of a batch: ``{"events": [...]}`` JSON, or NDJSON one event a line."""
    if not body.strip():
        raise Invalid.one(["body"], 'empty body: send {"events": [...]}', "missing")
    if content_type.split(";")[0].strip().lower() in NDJSON:
        items: list[Any] = []
        for number, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(_loads(line))
            except ValueError as exc:
                raise Invalid.one(
                    ["body", f"line {number}"], f"invalid JSON: {exc}", "json_invalid"
                ) from exc
            if len(items) > MAX_BATCH:
                raise TooLarge(f"a batch holds at most {MAX_BATCH} events")
    else:
        try:
            document = _loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise Invalid.one(["body"], f"invalid JSON: {exc}", "json_invalid") from exc
        if not isinstance(document, dict) or "events" not in document:
            raise Invalid.one(["body", "events"], 'expected an object {"events": [...]}', "missing")
        unknown = sorted(set(document) - {"events"})
        if unknown:
            raise Invalid.one(["body", unknown[0]], "unknown field", "extra_forbidden")
        items = document["events"]
        if not isinstance(items, list):
            raise Invalid.one(["body", "events"], "must be a list of events", "list_type")
    if not items:
        raise Invalid.one(["body", "events"], "empty batch: send at least one event", "too_short")
    if len(items) > MAX_BATCH:
        raise TooLarge(f"a batch holds at most {MAX_BATCH} events; this one has {len(items)}")
    return items


def screen(items: Sequence[Any], topology: Topology) -> tuple[list[Event], list[Problem]]:
    """The valid events of ``items`` and, for each bad one, its problems (``loc`` starts
    ``["body", "events", index]``). The one validation of every way events come in.

    An item that is already an :class:`Event` (validated by pydantic-core from the body) is
    taken as it is; a good event costs one cheap check of its names and values, and only a
    bad one is looked at again for what to say.
    """
    problems: list[Problem] = []
    valid: list[Event] = []
    names = _Names(topology)
    for index, item in enumerate(items):
        try:
            event = item if type(item) is Event else Event.model_validate(item)
        except ValidationError as exc:
            problems.extend(
                pydantic_problems(exc.errors(include_url=False), ["body", "events", index])
            )
            continue
        if names.known(event) and storable(event):
            valid.append(event)
            continue
        loc: list[str | int] = ["body", "events", index]
        problems += [
            {"loc": [*loc, field], "msg": msg, "type": "value_error"}
            for field, msg in names.unknown(event)
        ]
        problems += [
            {"loc": [*loc, *where], "msg": msg, "type": "value_error"}
            for where, msg in storable_problems(event)
        ]
    return valid, problems


def validate_batch(items: Sequence[Any], topology: Topology) -> list[Event]:
    """Every event of the batch, or Invalid naming the index and reason of each bad one."""
    valid, problems = screen(items, topology)
    if problems:
        raise Invalid(problems)
    return valid


def admit(events: Sequence[Event], topology: Topology) -> tuple[list[Event], list[str]]:
    """What a connector's events (polled or from a webhook) may store: the events that pass
    the events API's validation, and one reason per event dropped, naming its id.

    A connector cannot be answered 422 like an API client: its bad events are left out and
    the reasons shown where the user looks (the delivery, the connection's status).
    """
    valid, problems = screen([event.to_json() for event in events], topology)
    reasons: dict[int, list[str]] = {}
    for problem in problems:
        index, *field = problem["loc"][2:]
        reasons.setdefault(int(index), []).append(
            f"{'.'.join(map(str, field)) or 'event'}: {problem['msg']}"
        )
    dropped = [f"event {events[i].id!r} dropped: {'; '.join(r)}" for i, r in reasons.items()]
    return valid, dropped


class _Names:
    """The names of a topology an event may use, read once for a whole batch."""

    def __init__(self, topology: Topology) -> None:
        self.flows = topology.flows
        self.flow_set = frozenset(self.flows)
        self.systems = frozenset(s.id for s in topology.systems)

    def known(self, event: Event) -> bool:
        """Whether :meth:`unknown` finds nothing."""
        system, target = event.system, event.target
        return (
            event.flow in self.flow_set
            and (system in self.systems or system == ARBITER_SYSTEM)
            and (target is None or target in self.systems)
        )

    def unknown(self, event: Event) -> list[tuple[str, str]]:
        """(field, reason) for each name in the event that the topology does not know."""
        problems: list[tuple[str, str]] = []
        if event.flow not in self.flow_set:
            flows = ", ".join(self.flows)
            problems.append(("flow", f"'{event.flow}' is not a flow of the topology ({flows})"))
        if event.system not in self.systems and event.system != ARBITER_SYSTEM:
            problems.append(("system", f"'{event.system}' is not a system of the topology"))
        if event.target is not None and event.target not in self.systems:
            problems.append(("target", f"'{event.target}' is not a system of the topology"))
        return problems


@dataclass(frozen=True)
class StoreResult:
    accepted: int
    duplicates: int
    stored: list[tuple[int, Event]]
    """The newly stored events with their sequence numbers, to feed the in-memory index."""


def store_events(connection: Connection, workspace_id: str, batch: Sequence[Event]) -> StoreResult:
    """Insert the batch in the caller's transaction, skipping ids the workspace already holds.

    Through the driver, with multi-row ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: the
    statement layer's per-row parameter handling cost the writer thread more than SQLite's
    own work did (bench/README.md). The column values go through the tables' own type
    processors, so rows are stored exactly as the rest of the code reads them.
    """
    return insert_rows(connection, event_rows(connection.dialect, workspace_id, batch))


@dataclass(frozen=True)
class Rows:
    """A batch made ready for its insert: its events by id (the first of each id) and their
    column values. Made before the batch reaches the store's one writer thread, which then only
    inserts (the values cost that thread more than the inserts did: bench/README.md)."""

    workspace_id: str
    size: int
    """Events in the batch, repeated ids included."""
    unique: dict[str, Event]
    rows: list[tuple[Any, ...]]
    times: dict[str, Any]
    """Each event's time as the dialect stores it, by event id."""


def event_rows(dialect: Dialect, workspace_id: str, batch: Sequence[Event]) -> Rows:
    unique = {event.id: event for event in batch}
    if len(unique) < len(batch):  # a repeated id: the first of it is the one stored
        unique = {}
        for event in batch:
            unique.setdefault(event.id, event)
    as_time = time_processor(dialect)
    sqlite = as_time is _sqlite_time
    received = as_time(datetime.now(UTC))
    times: dict[str, Any] = {}
    rows = []
    for event_id, event in unique.items():
        body = event.json_text()
        moment = (sqlite and _utc_text(body)) or as_time(event.time)
        times[event_id] = moment
        row = (workspace_id, event_id, moment, event.flow, event.kind, event.system, event.target)
        rows.append((*row, body, received))
    return Rows(workspace_id, len(batch), unique, rows, times)


def _utc_text(body: str) -> str | None:
    """:func:`_sqlite_time` of the event's time, read from its stored body when pydantic-core
    wrote it in UTC (``"time":"2026-11-25T10:00:00Z"``, or with ``.ffffff``), else None:
    slicing that text costs a fifth of formatting the time again (tested to agree)."""
    # The first '"time":"' is the key: a quote inside the id before it is escaped.
    start = body.find('"time":"') + 8
    if body[start + 19 : start + 20] == "Z":
        return f"{body[start : start + 10]} {body[start + 11 : start + 19]}.000000"
    if body[start + 26 : start + 27] == "Z" and body[start + 19 : start + 20] == ".":
        return f"{body[start : start + 10]} {body[start + 11 : start + 26]}"
    return None


def insert_rows(connection: Connection, prepared: Rows) -> StoreResult:
    """Insert rows made by :func:`event_rows` (see :func:`store_events`)."""
    workspace_id, unique, rows = prepared.workspace_id, prepared.unique, prepared.rows
    dialect = connection.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    postgres = dialect.name == "postgresql"
    if postgres:  # time partitions and the idempotency keys' own table: app/db/partitions.py
        partitions.ensure(connection, ("events", "event_refs"), [e.time for e in unique.values()])
    inserted: list[Any] = []
    for chunk in _chunks(rows):
        if postgres:
            inserted += driver.execute(connection, partitions.EVENTS_INSERT, _columns(chunk))
            continue
        # Only placeholders and the constant column names are formatted in; values are bound.
        sql = f"INSERT INTO events ({', '.join(_EVENT_COLUMNS)}) VALUES {_values(mark, chunk)} "  # noqa: S608
        sql += "ON CONFLICT (workspace_id, event_id) DO NOTHING RETURNING seq, event_id"
        inserted += driver.execute(connection, sql, tuple(chain.from_iterable(chunk)))
    # In sequence order, the order they were stored in (by the number: comparing whole rows
    # goes through Python for each pair).
    inserted.sort(key=itemgetter(0))
    stored = [(seq, unique[event_id]) for seq, event_id in inserted]
    times = prepared.times
    ref_rows = [
        (seq, ns, workspace_id, value, times[event.id])
        for seq, event in stored
        for ns, value in event.refs.items()
    ]
    # One statement of many rows, not executemany: the driver gives up the GIL for every row
    # of an executemany and has to win it back from the validating threads each time, which
    # kept the store's one writer thread waiting (py-spy, bench/README.md).
    for chunk in _chunks(ref_rows):
        if postgres:
            driver.execute(connection, partitions.REFS_INSERT, _columns(chunk))
        else:
            sql = f"INSERT INTO event_refs VALUES {_values(mark, chunk)}"  # noqa: S608
            driver.execute(connection, sql, tuple(chain.from_iterable(chunk)))
    return StoreResult(len(stored), prepared.size - len(stored), stored)


def _chunks(rows: list[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        yield rows[start : start + _ROWS_PER_STATEMENT]


def _columns(rows: list[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """The rows as one list a column: the parameters of PostgreSQL's ``unnest`` inserts."""
    return tuple(list(column) for column in zip(*rows, strict=True))


def _values(mark: str, rows: list[tuple[Any, ...]]) -> str:
    """The placeholders of a multi-row ``VALUES``: ``(?,?),(?,?)``."""
    return ",".join([f"({','.join([mark] * len(rows[0]))})"] * len(rows))


_EVENT_COLUMNS = (
    "workspace_id", "event_id", "time", "flow", "kind", "system", "target", "body", "received_at"
)  # fmt: skip
# 9 parameters a row at most: well under SQLite's and PostgreSQL's limits per statement.
_ROWS_PER_STATEMENT = 1000


@lru_cache(maxsize=16)
def time_processor(dialect: Dialect) -> Callable[[datetime], Any]:
    """A moment as ``dialect`` stores it in a ``UTCDateTime`` column (and compares it in a
    query's parameters). Found once per dialect: finding it took 17 µs, paid by every webhook
    delivery on the event loop."""
    # The dialect's own implementation: on SQLite it is what formats the stored text; the
    # same text made by isoformat costs the writer thread a third of it (checked here).
    processor = events.c.time.type.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None, "UTCDateTime always converts"
    probe = datetime(2026, 11, 25, 10, 0, 0, 5, tzinfo=UTC)
    if dialect.name == "sqlite" and _sqlite_time(probe) == processor(probe):
        return _sqlite_time
    return processor


def _sqlite_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    # "YYYY-MM-DD HH:MM:SS.ffffff" of "...+00:00": a little cheaper than dropping the zone first.
    return moment.astimezone(UTC).isoformat(" ", "microseconds")[:26]


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None


def _encode_cursor(time: datetime, seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([time.isoformat(), seq]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        time_text, seq = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        time = within_range(datetime.fromisoformat(time_text))
        # A forged cursor must not overflow the columns it is compared with.
        if not isinstance(seq, int) or not 0 <= seq <= 2**63 - 1 or time.tzinfo is None:
            raise ValueError(cursor)
    except (ValueError, TypeError) as exc:
        raise Invalid.one(["query", "cursor"], "not a cursor this service returned") from exc
    return time, seq


def read_events(
    connection: Connection,
    workspace_id: str,
    *,
    ref: tuple[str, str] | None = None,
    flow: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> EventPage:
    """Events in time order (then arrival order), one page at a time."""
    query = select(events.c.seq, events.c.time, events.c.body).where(
        events.c.workspace_id == workspace_id
    )
    if ref is not None:
        query = query.join(event_refs, event_refs.c.seq == events.c.seq).where(
            event_refs.c.workspace_id == workspace_id,
            event_refs.c.namespace == ref[0],
            event_refs.c.value == ref[1],
        )
    if flow is not None:
        query = query.where(events.c.flow == flow)
    if since is not None:
        query = query.where(events.c.time >= since)
    if until is not None:
        query = query.where(events.c.time < until)
    if cursor is not None:
        after_time, after_seq = _decode_cursor(cursor)
        query = query.where(
            or_(
                events.c.time > after_time,
                and_(events.c.time == after_time, events.c.seq > after_seq),
            )
        )
    rows = connection.execute(query.order_by(events.c.time, events.c.seq).limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = _encode_cursor(page[-1].time, page[-1].seq) if len(rows) > limit else None
    found = (read_stored_json(workspace_id, r.seq, r.body) for r in page)
    return EventPage([event for event in found if event is not None], next_cursor)


def iter_stored(
    connection: Connection,
    workspace_id: str,
    *,
    after_seq: int = 0,
    until_seq: int | None = None,
    received_since: datetime | None = None,
    time_since: datetime | None = None,
    time_until: datetime | None = None,
    chunk: int = 5000,
) -> Iterator[tuple[int, Event]]:
    """Every stored event of the workspace after ``after_seq`` (up to ``until_seq``, received
    at or after ``received_since``, with a time in ``[time_since, time_until]``: each when
    given), in arrival order."""
    while True:
        query = select(events.c.seq, events.c.body).where(
            events.c.workspace_id == workspace_id, events.c.seq > after_seq
        )
        if until_seq is not None:
            query = query.where(events.c.seq <= until_seq)
        if received_since is not None:
            query = query.where(events.c.received_at >= received_since)
        if time_since is not None:
            query = query.where(events.c.time >= time_since)
        if time_until is not None:
            query = query.where(events.c.time <= time_until)
        rows = connection.execute(query.order_by(events.c.seq).limit(chunk)).all()
        for row in rows:
            event = read_stored(workspace_id, row.seq, row.body)
            if event is not None:
                yield row.seq, event
        if len(rows) < chunk:
            return
        after_seq = rows[-1].seq


def journey_events(
    connection: Connection, workspace_id: str, ref: tuple[str, str], *, limit: int = 50_000
) -> list[Event]:
    """The stored events of the journey that ``ref`` names: those naming it, then those naming
    any identifier those name, and so on (at most ``limit`` events)."""
    found: dict[int, Event] = {}
    pending = {ref}
    known: set[tuple[str, str]] = set()
    while pending and len(found) < limit:
        known |= pending
        pairs = sorted(pending)
        pending = set()
        for start in range(0, len(pairs), 500):
            seqs = select(event_refs.c.seq).where(
                event_refs.c.workspace_id == workspace_id,
                tuple_(event_refs.c.namespace, event_refs.c.value).in_(pairs[start : start + 500]),
            )
            rows = connection.execute(
                select(events.c.seq, events.c.body)
                .where(events.c.seq.in_(seqs))
                .order_by(events.c.seq)
                .limit(limit)
            ).all()
            for row in rows:
                if row.seq in found:
                    continue
                event = read_stored(workspace_id, row.seq, row.body)
                if event is not None:
                    found[row.seq] = event
                    pending |= set(event.refs.items()) - known
    return list(found.values())[:limit]


def prepare(engine: Engine, workspace_id: str, items: Sequence[Any]) -> list[Event]:
    """Validate a parsed batch against the workspace's topology (reads, writes nothing)."""
    return validate_batch(items, _topology_of(engine, workspace_id))


def prepare_body(engine: Engine, workspace_id: str, body: bytes, content_type: str) -> list[Event]:
    """:func:`prepare` of a request's body, answered as ``parse_batch`` and ``prepare`` answer.

    A JSON batch is first parsed and validated in one go by pydantic-core (a third of the
    Python a batch cost); any batch that is not plainly valid that way, or that breaks a
    rule checked afterwards, is judged again the long way, so errors read as they always did.
    """
    fast = _fast_events(body, content_type)
    items = fast if fast is not None else parse_batch(body, content_type)
    topology = _topology_of(engine, workspace_id)
    valid, problems = screen(items, topology)
    if problems and fast is not None:
        valid, problems = screen(parse_batch(body, content_type), topology)
    if problems:
        raise Invalid(problems)
    return valid


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[Event]


def _fast_events(body: bytes, content_type: str) -> list[Event] | None:
    """The events of a JSON batch that pydantic-core takes as it is, or None."""
    if content_type.split(";")[0].strip().lower() in NDJSON:
        return None
    try:
        events = _Batch.model_validate_json(body).events
    except ValueError:  # pydantic's ValidationError is one
        return None
    return events if 0 < len(events) <= MAX_BATCH else None


def _topology_of(engine: Engine, workspace_id: str) -> Topology:
    with engine.connect() as connection:
        require_workspace(connection, workspace_id)
        topology = get_topology(connection, workspace_id)
    if topology is None:
        raise NoTopology(workspace_id, before="events")
    return topology


def storing(
    workspace_id: str, batch: Sequence[Event] | Rows
) -> Callable[[Connection], StoreResult]:
    """The unit of work that stores ``batch`` (best made into :class:`Rows` beforehand, off
    the writer's thread), for :class:`app.db.writer.Writer`."""

    def work(connection: Connection) -> StoreResult:
        # Checked in the writing transaction: a workspace deleted since the validation
        # is a 404, not a foreign-key error.
        require_workspace(connection, workspace_id)
        if not isinstance(batch, Rows):
            return store_events(connection, workspace_id, batch)
        return insert_rows(connection, batch)

    return work


def ingest(
    engine: Engine, workspace_id: str, items: Sequence[Any], *, writer: Writer | None = None
) -> StoreResult:
    """Validate a parsed batch against the workspace's topology and store it atomically,
    through ``writer`` (grouped with concurrent writes) when given."""
    batch = prepare(engine, workspace_id, items)
    if writer is not None:
        return writer.run(storing(workspace_id, batch))
    with engine.begin() as connection:
        return storing(workspace_id, batch)(connection)
