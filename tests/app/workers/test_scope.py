"""What a worker does with each lease round: start, stop, hand back and cancel work."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.workers.leases import STORE, Round
from app.workers.scope import LeasedScope, WorkScope


def round_holding(*keys: str, epoch: int = 1, excess: int = 0) -> Round:
    return Round({k: epoch for k in keys}, excess=excess, share=len(keys), live_workers=1,
                 workspaces=len(keys))  # fmt: skip


def test_the_one_process_holds_everything_and_tells_who_polls() -> None:
    scope = WorkScope()
    assert scope.holds("any")
    assert scope.agent == f"Arbiter ({scope.worker.id})"


def test_a_round_decides_what_is_held_until_the_local_deadline() -> None:
    scope = LeasedScope("worker")
    assert not scope.holds("a")
    now = time.monotonic()
    scope.update(round_holding("a", "b", STORE), started=now, valid_for=10, released=())
    assert scope.held() == [STORE, "a", "b"]
    # A round that failed changes nothing until the deadline, then everything stops.
    scope.update(None, started=now, valid_for=10, released=())
    assert scope.holds("a")
    scope.update(None, started=now - 20, valid_for=10, released=())
    scope.update(round_holding("a"), started=now - 20, valid_for=10, released=())
    assert not scope.holds("a")


@pytest.mark.asyncio
async def test_a_lost_lease_cancels_its_running_work_a_handed_back_one_waits_for_it() -> None:
    scope = LeasedScope("worker")
    now = time.monotonic()
    scope.update(round_holding("a", "b"), started=now, valid_for=10, released=())
    poll_a = asyncio.create_task(asyncio.sleep(10))
    poll_b = asyncio.create_task(asyncio.sleep(10))
    scope.track("a", poll_a)
    scope.track("b", poll_b)
    # Over its share by one: one is handed back, its running poll not cancelled.
    scope.update(round_holding("a", "b", excess=1), started=now, valid_for=10, released=())
    draining = [k for k in ("a", "b") if not scope.holds(k)]
    assert len(draining) == 1
    assert scope.releasable() == set()  # its poll still runs
    # "b" was taken over by another worker (a new epoch elsewhere: it is not in our round).
    scope.update(round_holding("a"), started=now, valid_for=10, released=())
    await asyncio.sleep(0)
    assert poll_b.cancelled()
    assert not poll_a.done()
    poll_a.cancel()
    await asyncio.gather(poll_a, return_exceptions=True)


def test_an_epoch_that_changed_is_a_lease_lost_and_taken_again() -> None:
    scope = LeasedScope("worker")
    now = time.monotonic()
    scope.update(round_holding("a", epoch=1), started=now, valid_for=10, released=())
    scope.update(round_holding("a", epoch=3), started=now, valid_for=10, released=())
    assert scope.holds("a")
    assert scope._leases["a"].epoch == 3
