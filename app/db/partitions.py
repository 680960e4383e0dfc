"""Time partitions of the event tables on PostgreSQL: weekly ranges, made ahead, dropped whole.

``events`` and ``event_refs`` are partitioned by the event's ``time``, ``webhook_deliveries``
by its ``received_at``: retention is about how old the raw data is, and the questions asked of
the store (a diagnosis window, the live period, a report's period) name event times, so they
read only the partitions of their period. Each partition holds one week (Monday 00:00 UTC on):
with 90 days kept, about 14 partitions a table, few enough that a read by sequence number (a
trace's refs) probes them all cheaply; a partition goes once its whole week is past the
retention period, so rows stay at most a week longer than ``ARBITER_RETENTION_DAYS``.

A partitioned table's unique constraint must hold its partition key, so "an event whose id
the workspace already holds is a duplicate" is kept by ``event_ids`` (and a redelivered
webhook by ``webhook_delivery_ids``): plain tables keyed by the idempotency key, inserted in
the same statement as the row (``ON CONFLICT DO NOTHING`` on the key decides). Retention
deletes their expired keys in batches, with the partitions they point into.

The maintenance job (:func:`maintain`, run with the retention sweep) makes the partitions of
the coming weeks; the events insert makes its batch's week if it is missing; and a DEFAULT
partition takes any row no partition covers (a time far in the past or future), so an insert
never fails for want of a partition.

On SQLite nothing of this exists: the tables are plain, uniqueness is their constraint, and
retention deletes in batches (:mod:`app.db.retention`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.exc import DBAPIError

from app.db.driver import savepoint
from app.db.tables import UTCDateTime

WEEK = timedelta(days=7)
AHEAD_WEEKS = 4
"""Weeks made ahead of now by the maintenance job."""

BEHIND = timedelta(days=14)
"""The events insert makes a missing week no further back than this (older rows go to the
DEFAULT partition unless maintenance made their week: a backfill within retention)."""

PARTITIONED: Final = {"events": "time", "event_refs": "time", "webhook_deliveries": "received_at"}
"""Each partitioned table and its partition key."""

KEYS: Final = {
    "events": ("event_ids", "time"),
    "webhook_deliveries": ("webhook_delivery_ids", "received_at"),
}
"""The idempotency-key table of each partitioned table that has one, and its time column."""

_NAME = re.compile(r"^(events|event_refs|webhook_deliveries)_(p\d{8}|default)$")
_LOCK = 0x61726269  # pg_advisory_xact_lock key: one partition maker at a time, every process

# Making or dropping a partition takes an ACCESS EXCLUSIVE lock on its parent table. Waiting for
# it behind a long read would stall the one writer and, worse, queue every later read of the
# table behind the waiting DDL; so the DDL gives up quickly (lock_not_available) instead.
INSERT_LOCK_WAIT: Final = "500ms"
SWEEP_LOCK_WAIT: Final = "3s"
_LOCK_NOT_AVAILABLE: Final = "55P03"
_CACHE = "arbiter_partitions"


def is_partition(name: str | None) -> bool:
    """Whether ``name`` is a partition of a partitioned table (not a table of the schema).

    >>> is_partition("events_p20261130"), is_partition("events_default"), is_partition("events")
    (True, True, False)
    """
    return name is not None and _NAME.match(name) is not None


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week holding ``moment``: where its partition begins.

    >>> week_of(datetime(2026, 12, 3, 15, tzinfo=UTC))
    datetime.date(2026, 11, 30)
    """
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _bound(week: date) -> datetime:
    return datetime.combine(week, time(), tzinfo=UTC)


def partition_name(table: str, week: date) -> str:
    return f"{table}_p{week:%Y%m%d}"


def weeks(connection: Connection, table: str) -> set[date]:
    """The weeks that ``table`` has a partition of (from the catalog)."""
    rows = connection.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass",
        (table,),
    ).scalars()
    return {
        datetime.strptime(name[len(table) + 2 :], "%Y%m%d").date()
        for name in rows
        if name.startswith(f"{table}_p")
    }


def _wait_at_most(connection: Connection, wait: str) -> None:
    # SET LOCAL ends with the transaction (or the savepoint rolled back); the value is a constant.
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait}'")


def create(connection: Connection, table: str, week: date, *, wait: str = SWEEP_LOCK_WAIT) -> bool:
    """Make ``table``'s partition of ``week`` unless it exists; whether it was made.

    Rows of that week already in the DEFAULT partition move into it (PostgreSQL refuses a new
    partition whose range the DEFAULT partition holds rows of). Waits at most ``wait`` for the
    table's lock, then raises (lock_not_available).
    """
    _wait_at_most(connection, wait)
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    if week in weeks(connection, table):
        return False
    name, key = partition_name(table, week), PARTITIONED[table]
    lo, hi = _bound(week), _bound(week + WEEK)
    # Names are built from the constant table names and a date only; the bounds are bound.
    stranded = connection.exec_driver_sql(
        f"SELECT 1 FROM {table}_default WHERE {key} >= %s AND {key} < %s LIMIT 1",  # noqa: S608
        (lo, hi),
    ).first()
    bounds = f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    if stranded is None:
        connection.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF {table} {bounds}")
        return True
    connection.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    connection.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {table}_default WHERE {key} >= %s AND {key} < %s "  # noqa: S608
        f"RETURNING *) INSERT INTO {name} SELECT * FROM moved",
        (lo, hi),
    )
    connection.exec_driver_sql(f"ALTER TABLE {table} ATTACH PARTITION {name} {bounds}")
    return True


def ensure(connection: Connection, tables: Sequence[str], times: Iterable[datetime]) -> None:
    """Make the missing partitions of ``tables`` for the weeks of ``times`` that lie from
    :data:`BEHIND` before now to :data:`AHEAD_WEEKS` after it (the rest, if no partition
    holds it, goes to the DEFAULT partition).

    Cheap when nothing is missing: the weeks known on this connection are remembered.
    """
    moments = list(times)
    if not moments:
        return
    now = datetime.now(UTC)
    first = week_of(max(min(moments), now - BEHIND))
    last = week_of(min(max(moments), now + AHEAD_WEEKS * WEEK))
    wanted: set[date] = set()
    week = first
    while week <= last:
        wanted.add(week)
        week += WEEK
    known: dict[str, set[date]] = connection.info.setdefault(_CACHE, {})
    for table in tables:
        held = known.get(table)
        if held is not None and wanted <= held:
            continue
        held = known[table] = weeks(connection, table)
        for week in sorted(wanted - held):
            if _made_or_busy(connection, table, week):
                held.add(week)


def _made_or_busy(connection: Connection, table: str, week: date) -> bool:
    """Make the partition on the insert's path, in a savepoint; when a reader holds the table,
    leave it (the rows go to DEFAULT and the sweep makes the week later): whether it exists."""
    try:
        with savepoint(connection):
            create(connection, table, week, wait=INSERT_LOCK_WAIT)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
            raise
        return False
    # The insert itself must not give up on a lock as the DDL does.
    _wait_at_most(connection, "0")
    return True


def maintain(connection: Connection, *, keep_days: float, now: datetime | None = None) -> None:
    """Make every table's partitions from the oldest week kept (``keep_days``; when 0, keep
    all, :data:`BEHIND`) to :data:`AHEAD_WEEKS` ahead. Not further back than kept: a week
    made there would be dropped by the next sweep, and made again."""
    now = now or datetime.now(UTC)
    back = timedelta(days=keep_days) if keep_days > 0 else BEHIND
    for table in PARTITIONED:
        held = weeks(connection, table)
        week = week_of(now - back)
        while week <= week_of(now + AHEAD_WEEKS * WEEK):
            if week not in held:
                create(connection, table, week)
            week += WEEK
    connection.info.pop(_CACHE, None)


def expired(connection: Connection, table: str, cutoff: datetime) -> list[str]:
    """The partitions of ``table`` whose whole week is before ``cutoff``, oldest first."""
    return [
        partition_name(table, week)
        for week in sorted(weeks(connection, table))
        if _bound(week + WEEK) <= cutoff
    ]


def drop(name: str, connection: Connection) -> int:
    """Drop one partition; how many rows it held (none if another sweep dropped it first)."""
    assert is_partition(name), name
    _wait_at_most(connection, SWEEP_LOCK_WAIT)
    connection.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
    if connection.exec_driver_sql("SELECT to_regclass(%s)", (name,)).scalar_one() is None:
        return 0
    count: int = connection.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()  # noqa: S608
    connection.exec_driver_sql(f"DROP TABLE {name}")
    connection.info.pop(_CACHE, None)
    return count


_EVENT_COLUMNS = "workspace_id, event_id, time, flow, kind, system, target, body, received_at"
EVENTS_INSERT: Final = (
    f"WITH v ({_EVENT_COLUMNS}, n) AS (SELECT * FROM unnest(%b::varchar[], %b::varchar[],"  # noqa: S608 - constant column names
    " %b::timestamptz[], %b::varchar[], %b::varchar[], %b::varchar[], %b::varchar[],"
    " %b::text[], %b::timestamptz[]) WITH ORDINALITY),"
    " fresh AS (INSERT INTO event_ids (workspace_id, event_id, time)"
    " SELECT workspace_id, event_id, time FROM v ON CONFLICT DO NOTHING RETURNING event_id)"
    f" INSERT INTO events ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM v"
    " JOIN fresh USING (event_id) ORDER BY n RETURNING seq, event_id"
)
"""The events insert: one array a column (the 9 columns of the SQLite statement's rows, in
their order), returning ``seq, event_id`` of the rows stored, numbered in the order given, as
on SQLite; an id the workspace holds (in ``event_ids``, whatever partition its event is in)
is skipped.

Arrays, not a ``VALUES`` list: psycopg finds a statement's placeholders in Python and keeps
the result only for short statements, so the 9,000 placeholders of a 1,000-row ``VALUES``
were parsed again for every batch, most of the writer's time on PostgreSQL (py-spy). The
arrays go in binary (``%b``): psycopg writes a text array by escaping each element in Python,
25 times the cost."""

REFS_INSERT: Final = (
    "INSERT INTO event_refs (seq, namespace, workspace_id, value, time) SELECT * FROM"
    " unnest(%b::bigint[], %b::varchar[], %b::varchar[], %b::varchar[], %b::timestamptz[])"
)
"""The refs insert: one array a column, as :data:`EVENTS_INSERT`."""


def deliveries_insert_sql(rows: int) -> str:
    """The webhook deliveries insert of ``rows`` rows (8 parameters each, as the SQLite
    statement takes), returning ``seq, workspace_id, system_id, delivery_id`` of the rows
    stored: a redelivery (its key held in ``webhook_delivery_ids``) is skipped."""
    row = (
        "(%s::varchar, %s::varchar, %s::varchar, %s::text, %s::bytea, %s::timestamptz,"
        " %s::timestamptz, %s::text)"
    )
    columns = (
        "workspace_id, system_id, delivery_id, headers, body, received_at, processed_at, error"
    )
    key = "workspace_id, system_id, delivery_id"
    return (
        f"WITH v ({columns}) AS (VALUES {','.join([row] * rows)}),"  # noqa: S608
        f" fresh AS (INSERT INTO webhook_delivery_ids ({key}, received_at)"
        f" SELECT {key}, received_at FROM v ON CONFLICT DO NOTHING RETURNING {key})"
        f" INSERT INTO webhook_deliveries ({columns}) SELECT DISTINCT ON ({key}) v.*"
        f" FROM v JOIN fresh USING ({key}) RETURNING seq, {key}"
    )


DELIVERY_INSERT = text(
    "WITH fresh AS (INSERT INTO webhook_delivery_ids"
    " (workspace_id, system_id, delivery_id, received_at)"
    " VALUES (:workspace_id, :system_id, :delivery_id, :received_at)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " INSERT INTO webhook_deliveries (workspace_id, system_id, delivery_id, headers, body,"
    " received_at, processed_at, error)"
    " SELECT CAST(:workspace_id AS varchar), CAST(:system_id AS varchar),"
    " CAST(:delivery_id AS varchar), CAST(:headers AS text), :body,"
    " :received_at, CAST(:processed_at AS timestamptz), CAST(:error AS text) FROM fresh"
    " RETURNING seq"
).bindparams(
    bindparam("received_at", type_=UTCDateTime()), bindparam("processed_at", type_=UTCDateTime())
)
"""A webhook delivery's insert on PostgreSQL (the parameters of the SQLite statement):
its sequence number, or no row for a redelivery."""
