"""Which workspaces' background work this process does: :class:`WorkScope` (all of them, the
one process of a SQLite install) or :class:`LeasedScope` (those whose lease it holds).

The background services ask :meth:`WorkScope.holds` before starting a piece of work, hand the
task of a poll or check to :meth:`WorkScope.track` (cancelled when the lease is lost, waited
for before a lease is handed back), and call :meth:`WorkScope.fence` in the transaction that
stores the work's result.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from app.workers import leases
from app.workers.leases import Round, Worker

log = logging.getLogger("arbiter.workers")


class LeaseLost(RuntimeError):
    """This process no longer holds the workspace whose work it was about to store."""


class WorkScope:
    """Every workspace, always: the scope of the only process that does background work."""

    def __init__(self, role: str = "all", *, worker_id: str | None = None) -> None:
        self.worker = Worker(
            id=worker_id or f"w-{secrets.token_hex(4)}",
            host=socket.gethostname(),
            pid=os.getpid(),
            role=role,
        )

    @property
    def agent(self) -> str:
        """The User-Agent of this process's polls: a vendor (and the sandbox) can tell which
        worker called."""
        return f"Arbiter ({self.worker.id})"

    def holds(self, key: str) -> bool:
        return True

    def fence(self, connection: Connection, key: str) -> None:
        """Raise :class:`LeaseLost` unless the work of ``key`` is still this process's."""

    def track(self, key: str, task: asyncio.Task[Any]) -> None:
        """Note a running piece of ``key``'s work (a poll, a check)."""

    def held(self) -> list[str]:
        return []


@dataclass
class _Lease:
    epoch: int
    deadline: float
    """``time.monotonic()`` after which this process stops the work: its lease ends at the
    database a safety margin later."""


class LeasedScope(WorkScope):
    """The workspaces whose lease this worker holds, as :func:`leases.lease_round` left them."""

    def __init__(self, role: str, *, worker_id: str | None = None) -> None:
        super().__init__(role, worker_id=worker_id)
        self._leases: dict[str, _Lease] = {}
        self._draining: set[str] = set()
        self._tasks: dict[str, set[asyncio.Task[Any]]] = {}

    def holds(self, key: str) -> bool:
        lease = self._leases.get(key)
        return lease is not None and key not in self._draining and time.monotonic() < lease.deadline

    def fence(self, connection: Connection, key: str) -> None:
        lease = self._leases.get(key)
        epoch = None if lease is None else lease.epoch
        if not leases.fence(connection, key, self.worker.id, epoch):
            raise LeaseLost(f"another worker holds {key}")

    def track(self, key: str, task: asyncio.Task[Any]) -> None:
        tasks = self._tasks.setdefault(key, set())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    def held(self) -> list[str]:
        return sorted(k for k in self._leases if self.holds(k))

    def busy(self, key: str) -> bool:
        return any(not task.done() for task in self._tasks.get(key, ()))

    def releasable(self) -> set[str]:
        """Leases being handed back whose work has finished: release them in the next round."""
        return {key for key in self._draining if not self.busy(key)}

    def update(
        self, done: Round | None, *, started: float, valid_for: float, released: Collection[str]
    ) -> None:
        """Take in a round that began at ``started`` (None: it failed; only time passes)."""
        now = time.monotonic()
        if done is not None:
            for key in released:
                self._leases.pop(key, None)
                self._draining.discard(key)
            kept = {
                key: _Lease(epoch, started + valid_for)
                for key, epoch in done.held.items()
                if key not in released
            }
            lost = {
                k for k, old in self._leases.items() if k not in kept or kept[k].epoch != old.epoch
            }
            taken = sorted(k for k in kept if k not in self._leases or k in lost)
            self._lose(lost)
            self._leases = kept
            if taken:
                log.info("%s took %s", self.worker.id, ", ".join(taken))
            self._drain(done.excess)
        self._lose({k for k, lease in self._leases.items() if lease.deadline <= now})

    def _drain(self, excess: int) -> None:
        """Hand back ``excess`` workspaces, idle ones first; keep all when the share allows."""
        if excess <= 0:
            self._draining.clear()
            return
        while len(self._draining) > excess:
            self._draining.pop()
        idle_first = sorted(
            (k for k in self._leases if k != leases.STORE and k not in self._draining),
            key=lambda k: (self.busy(k), k),
        )
        for key in idle_first[: excess - len(self._draining)]:
            self._draining.add(key)
            log.info("%s hands back %s (over its share)", self.worker.id, key)

    def _lose(self, keys: Iterable[str]) -> None:
        for key in keys:
            if self._leases.pop(key, None) is None:
                continue
            self._draining.discard(key)
            log.warning("%s lost its lease on %s: its work there stops", self.worker.id, key)
            for task in self._tasks.get(key, ()):
                task.cancel()
