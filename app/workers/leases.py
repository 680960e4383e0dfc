"""Leases on PostgreSQL: which worker holds which workspace's background work, for how long.

Each worker runs :func:`lease_round` every few seconds, in one short transaction: it renews
its own row in ``workers`` and the leases it holds, releases those it was asked to, and takes
free or expired ones up to its fair share, ``ceil(workspaces / live workers)``. Rows it takes
are chosen with ``FOR UPDATE SKIP LOCKED``, so two workers never wait for, or take, the same
row. Every time is the database's ``now()``: the workers' clocks are never compared.

A worker that dies (SIGKILL, a lost host) stops renewing: its leases and its ``workers`` row
expire together after ``ttl`` seconds, the share of the others grows, and they take its
workspaces at their next round. Each acquisition raises the lease's ``epoch``; a write made
on behalf of a lease calls :func:`fence` in its own transaction, which fails once another
worker holds a live lease on the workspace or took it over from that acquisition (and locks
the row ``FOR SHARE`` until the commit, so no takeover can slip in between): a holder that
lost its lease cannot store a cursor behind the new holder's back.

>>> share(7, 2), share(7, 3), share(0, 2), share(3, 0)
(4, 3, 0, 3)
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, Interval, and_, delete, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from app.db.tables import workspaces
from app.workers.tables import worker_leases, workers

STORE = ":store"
"""The lease of the store-wide work (the webhook sweeper, retention): one worker at a time.
A workspace id never starts with a colon."""

_ROUND_LOCK = 0x41726269746572  # "Arbiter": rounds of all workers run one after another


@dataclass(frozen=True)
class Worker:
    id: str
    host: str
    pid: int
    role: str


@dataclass(frozen=True)
class Round:
    held: dict[str, int]
    """Every lease held after the round (renewed or taken), with its epoch."""
    excess: int
    """How many workspaces over its share this worker holds: it should hand them back."""
    share: int
    live_workers: int
    workspaces: int


def share(workspace_count: int, live_workers: int) -> int:
    """The most workspaces one worker takes while the others are alive."""
    return math.ceil(workspace_count / max(live_workers, 1))


def lease_round(
    connection: Connection, worker: Worker, *, ttl: float, release: Collection[str] = ()
) -> Round:
    """Renew, release and take leases for ``worker``; run it in a transaction of its own."""
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ROUND_LOCK})
    now = func.now()
    until = now + literal(timedelta(seconds=ttl), Interval())
    upsert = insert(workers).values(
        id=worker.id,
        host=worker.host[:255],
        pid=worker.pid,
        role=worker.role,
        started_at=now,
        expires_at=until,
    )
    connection.execute(
        upsert.on_conflict_do_update(
            index_elements=[workers.c.id], set_={"expires_at": upsert.excluded.expires_at}
        )
    )
    connection.execute(delete(workers).where(workers.c.expires_at < now))
    _sync_rows(connection)
    if release:
        connection.execute(
            update(worker_leases)
            .where(worker_leases.c.holder == worker.id, worker_leases.c.key.in_(list(release)))
            .values(holder=None, expires_at=None)
        )
    renewed = connection.execute(
        update(worker_leases)
        .where(worker_leases.c.holder == worker.id, worker_leases.c.expires_at > now)
        .values(expires_at=until)
        .returning(worker_leases.c.key, worker_leases.c.epoch)
    )
    held = {row.key: row.epoch for row in renewed}
    live = connection.execute(
        select(func.count()).select_from(workers).where(workers.c.expires_at > now)
    ).scalar_one()
    total = connection.execute(
        select(func.count()).select_from(worker_leases).where(worker_leases.c.key != STORE)
    ).scalar_one()
    fair = share(total, live)
    mine = len(held) - (STORE in held)
    if mine < fair:
        held |= _take(connection, worker.id, until, limit=fair - mine)
    if STORE not in held:
        held |= _take(connection, worker.id, until, limit=1, key=STORE)
    return Round(held, max(mine - fair, 0), fair, live, total)


def _sync_rows(connection: Connection) -> None:
    """One lease row per workspace and one for the store; rows of deleted workspaces go."""
    missing = select(workspaces.c.id).where(
        ~select(worker_leases.c.key).where(worker_leases.c.key == workspaces.c.id).exists()
    )
    rows = [{"key": STORE}, *({"key": row.id} for row in connection.execute(missing))]
    connection.execute(insert(worker_leases).on_conflict_do_nothing(), rows)
    orphans = (
        select(worker_leases.c.key)
        .where(worker_leases.c.key != STORE, worker_leases.c.key.not_in(select(workspaces.c.id)))
        .with_for_update(skip_locked=True)
    )
    connection.execute(delete(worker_leases).where(worker_leases.c.key.in_(orphans)))


def _take(
    connection: Connection, holder: str, until: object, *, limit: int, key: str | None = None
) -> dict[str, int]:
    """Take up to ``limit`` free or expired leases (of workspaces, or the one named ``key``)."""
    free = or_(worker_leases.c.holder.is_(None), worker_leases.c.expires_at <= func.now())
    which = worker_leases.c.key == key if key is not None else worker_leases.c.key != STORE
    candidates = (
        select(worker_leases.c.key)
        .where(and_(which, free))
        .order_by(worker_leases.c.key)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken = connection.execute(
        update(worker_leases)
        .where(worker_leases.c.key.in_(candidates.scalar_subquery()))
        .values(
            holder=holder,
            epoch=worker_leases.c.epoch + 1,
            acquired_at=func.now(),
            expires_at=until,
        )
        .returning(worker_leases.c.key, worker_leases.c.epoch)
    )
    return {row.key: row.epoch for row in taken}


def leave(connection: Connection, worker_id: str) -> None:
    """Hand every lease of ``worker_id`` back and forget the worker (a clean stop)."""
    connection.execute(
        update(worker_leases)
        .where(worker_leases.c.holder == worker_id)
        .values(holder=None, expires_at=None)
    )
    connection.execute(delete(workers).where(workers.c.id == worker_id))


def fence(connection: Connection, key: str, holder: str, epoch: int | None) -> bool:
    """Whether ``holder`` may store work of ``key`` now: no other worker holds a live lease on
    it, and ``holder``'s own acquisition ``epoch`` (None: it never held it, as in a poll run by
    hand) was not taken over. The row stays locked (``FOR SHARE``) until the caller's
    transaction ends, so no takeover slips in before the caller's writes are committed; the
    next holder reads them."""
    row = connection.execute(
        select(
            worker_leases.c.holder,
            worker_leases.c.epoch,
            (worker_leases.c.expires_at > func.now()).label("live"),
        )
        .where(worker_leases.c.key == key)
        .with_for_update(read=True)
    ).first()
    if row is None or (row.holder == holder and row.epoch == epoch):
        return True
    return not (row.holder is not None and row.live)


def holders(connection: Connection) -> dict[str, str | None]:
    """Who holds each lease now (None: nobody, or an expired holder)."""
    rows = connection.execute(
        select(
            worker_leases.c.key,
            worker_leases.c.holder,
            (worker_leases.c.expires_at > func.now()).label("valid"),
        )
    )
    return {row.key: row.holder if row.valid else None for row in rows}


@dataclass(frozen=True)
class LiveWorker:
    worker: Worker
    expires_in: float
    """Seconds until its row expires unless renewed."""
    holds: list[str]


def live_workers(connection: Connection) -> list[LiveWorker]:
    """The workers alive now, each with the leases it holds (``arbiter workers``)."""
    held = holders(connection)
    rows = connection.execute(
        select(
            workers,
            func.extract("epoch", workers.c.expires_at - func.now()).label("expires_in"),
        )
        .where(workers.c.expires_at > func.now())
        .order_by(workers.c.started_at)
    )
    return [
        LiveWorker(
            Worker(row.id, row.host, row.pid, row.role),
            float(row.expires_in),
            sorted(key for key, holder in held.items() if holder == row.id),
        )
        for row in rows
    ]
