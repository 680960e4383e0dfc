"""Leases on a real PostgreSQL: fair shares, takeover after a worker's death, fencing."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, text, update

from app.db.tables import workspaces
from app.workers import leases
from app.workers.leases import STORE, Worker
from app.workers.tables import worker_leases, workers

pytestmark = pytest.mark.postgres

TTL = 30.0


def add_workspaces(engine: Engine, *names: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(workspaces),
            [{"id": n, "name": n, "created_at": datetime.now(UTC)} for n in names],
        )


def worker(name: str) -> Worker:
    return Worker(id=name, host="test", pid=1, role="worker")


def round_of(
    engine: Engine, name: str, release: set[str] | None = None, *, ttl: float = TTL
) -> leases.Round:
    with engine.begin() as connection:
        return leases.lease_round(connection, worker(name), ttl=ttl, release=release or set())


def die(engine: Engine, name: str) -> None:
    """What ``ttl`` seconds without a renewal do to a worker: its row and leases expire."""
    past = text("now() - interval '1 second'")
    with engine.begin() as connection:
        connection.execute(update(workers).where(workers.c.id == name).values(expires_at=past))
        connection.execute(
            update(worker_leases).where(worker_leases.c.holder == name).values(expires_at=past)
        )


def held(done: leases.Round) -> set[str]:
    return set(done.held) - {STORE}


def test_a_lone_worker_takes_every_workspace_and_the_store(engine: Engine) -> None:
    add_workspaces(engine, "a", "b", "c")
    done = round_of(engine, "w1")
    assert set(done.held) == {"a", "b", "c", STORE}
    assert (done.share, done.live_workers, done.workspaces, done.excess) == (3, 1, 3, 0)
    # Renewing keeps the same acquisitions (epochs), so fences made earlier still hold.
    assert round_of(engine, "w1").held == done.held


def test_workers_share_fairly_the_first_hands_back_its_excess(engine: Engine) -> None:
    add_workspaces(engine, "a", "b", "c", "d", "e")
    assert held(round_of(engine, "w1")) == {"a", "b", "c", "d", "e"}
    second = round_of(engine, "w2")
    assert held(second) == set()  # nothing free yet
    assert second.share == 3
    first = round_of(engine, "w1")
    assert first.excess == 2
    first = round_of(engine, "w1", release={"d", "e"})
    assert held(first) == {"a", "b", "c"}
    assert first.excess == 0
    second = round_of(engine, "w2")
    assert held(second) == {"d", "e"}
    assert STORE in first.held
    assert STORE not in second.held


def test_a_dead_workers_workspaces_are_taken_over_from_its_epoch(engine: Engine) -> None:
    add_workspaces(engine, "a", "b", "c", "d")
    first = round_of(engine, "w1", release=set())
    round_of(engine, "w2")
    first = round_of(engine, "w1", release={"c", "d"})
    second = round_of(engine, "w2")
    assert held(first) == {"a", "b"}
    assert held(second) == {"c", "d"}
    die(engine, "w1")
    taken = round_of(engine, "w2")
    assert held(taken) == {"a", "b", "c", "d"}
    assert STORE in taken.held
    assert taken.live_workers == 1
    assert taken.held["a"] == first.held["a"] + 1  # a new acquisition: a new fencing epoch
    assert taken.held["c"] == second.held["c"]


def test_a_worker_that_lost_its_lease_is_fenced_off(engine: Engine) -> None:
    add_workspaces(engine, "a")
    epoch = round_of(engine, "w1").held["a"]
    with engine.begin() as connection:
        assert leases.fence(connection, "a", "w1", epoch)
    die(engine, "w1")
    round_of(engine, "w2")
    with engine.begin() as connection:
        assert not leases.fence(connection, "a", "w1", epoch)
        assert not leases.fence(connection, "a", "w2", epoch)  # the new holder's epoch is new
        assert leases.fence(connection, "a", "w2", epoch + 1)
        assert not leases.fence(connection, "a", "w3", None)  # a poll run by hand, elsewhere


def test_work_on_a_workspace_nobody_holds_yet_may_be_stored(engine: Engine) -> None:
    add_workspaces(engine, "a")
    with engine.begin() as connection:
        assert leases.fence(connection, "a", "w1", None)  # no lease row yet
    epoch = round_of(engine, "w1").held["a"]
    with engine.begin() as connection:
        assert not leases.fence(connection, "a", "w2", None)
        leases.leave(connection, "w1")
    with engine.begin() as connection:
        assert leases.fence(connection, "a", "w2", None)  # handed back: nobody holds it
        assert leases.fence(connection, "a", "w1", epoch)


def test_a_fenced_write_in_progress_holds_off_the_takeover_until_it_commits(
    engine: Engine,
) -> None:
    add_workspaces(engine, "a")
    epoch = round_of(engine, "w1", ttl=1).held["a"]
    writing, committed = threading.Event(), threading.Event()

    def write() -> None:
        with engine.begin() as connection:
            assert leases.fence(connection, "a", "w1", epoch)
            writing.set()
            committed.wait(10)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert writing.wait(10)
        time.sleep(1.2)  # the lease has expired meanwhile, with the write still open
        # Its row is locked by the write: skipped, never waited for, never taken.
        assert "a" not in round_of(engine, "w2").held
    finally:
        committed.set()
        thread.join()
    assert "a" in round_of(engine, "w2").held


def test_a_clean_stop_hands_everything_back_at_once(engine: Engine) -> None:
    add_workspaces(engine, "a", "b")
    round_of(engine, "w1")
    with engine.begin() as connection:
        leases.leave(connection, "w1")
    assert set(round_of(engine, "w2").held) == {"a", "b", STORE}


def test_deleted_workspaces_lose_their_lease_rows_and_new_ones_get_one(engine: Engine) -> None:
    add_workspaces(engine, "a", "b")
    round_of(engine, "w1")
    with engine.begin() as connection:
        connection.execute(workspaces.delete().where(workspaces.c.id == "a"))
    add_workspaces(engine, "c")
    assert set(round_of(engine, "w1").held) == {"b", "c", STORE}
    with engine.connect() as connection:
        assert set(leases.holders(connection)) == {"b", "c", STORE}


def test_concurrent_rounds_never_give_a_workspace_two_holders(engine: Engine) -> None:
    names = [f"ws{i:02d}" for i in range(10)]
    add_workspaces(engine, *names)
    last: dict[str, leases.Round] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            release: set[str] = set()
            for _ in range(8):
                done = round_of(engine, name, release)
                last[name] = done
                # Hand back the excess as the keeper does (its work has finished).
                spare = sorted(held(done))[: done.excess]
                release = set(spare)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for name in last:
        last[name] = round_of(engine, name)
    claims = [key for done in last.values() for key in done.held]
    assert len(claims) == len(set(claims))  # nobody holds what another holds
    assert set(claims) == {*names, STORE}
    assert all(len(held(done)) <= 4 for done in last.values())  # ceil(10 / 3)


def test_live_workers_tell_what_each_holds(engine: Engine) -> None:
    add_workspaces(engine, "a", "b")
    round_of(engine, "w1")
    round_of(engine, "w2")
    with engine.connect() as connection:
        found = leases.live_workers(connection)
    assert [(w.worker.id, w.holds) for w in found] == [("w1", [STORE, "a", "b"]), ("w2", [])]
    assert all(0 < w.expires_in <= TTL for w in found)
