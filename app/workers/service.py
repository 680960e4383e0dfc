"""What a process runs besides answering requests, by its role (``ARBITER_ROLE``).

- ``all`` (the default): everything. On SQLite this is the one process of the install and it
  holds every workspace; on PostgreSQL it also takes part in the leases, like a worker.
- ``api`` (``arbiter serve`` on PostgreSQL next to ``arbiter worker`` processes): only what
  serving needs (warming the diagnosis indexes); no poller, sweeper, evaluator or exporter.
- ``worker`` (``arbiter worker``): the work of the workspaces it holds a lease on (pollers,
  storefront checks, incident evaluation, journey export) and, in the one worker that holds
  the store's lease, the store-wide work (the webhook sweeper, retention).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager

from sqlalchemy import func, select

from app.background import in_thread, running
from app.checks.runner import storefront_checks
from app.connections.poller import pollers
from app.db.retention import retention_sweeper
from app.db.tables import events
from app.demo import demo
from app.diagnosis.warmup import index_warmer
from app.incidents.evaluator import incident_evaluator, open_incident_counts
from app.runtime import Runtime
from app.telemetry import metrics
from app.telemetry.export import journey_export
from app.webhooks.service import pending_sweeper
from app.workers import leases
from app.workers.reports import SharedConnectorStatuses
from app.workers.scope import LeasedScope

log = logging.getLogger("arbiter.workers")

BackgroundService = Callable[[Runtime], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def events_elsewhere(runtime: Runtime) -> AsyncIterator[None]:
    """PostgreSQL: events that other processes stored (an API process's ingest, webhooks, OTLP)
    for the workspaces this one holds are announced to its listeners, as its own commits are,
    with the events left out (the index reads them from the store): the incident evaluator's
    quick, debounced pass follows them too."""
    settings = runtime.settings
    if settings.store.is_sqlite or settings.incidents.interval_seconds <= 0:
        yield
        return
    every = max(settings.incidents.debounce_seconds, 1.0)

    def newest() -> int:
        with runtime.engine.connect() as connection:
            return int(connection.execute(select(func.max(events.c.seq))).scalar() or 0)

    def since(mark: int) -> dict[str, int]:
        query = (
            select(events.c.workspace_id, func.max(events.c.seq))
            .where(events.c.seq > mark)
            .group_by(events.c.workspace_id)
        )
        with runtime.engine.connect() as connection:
            return {row[0]: int(row[1]) for row in connection.execute(query)}

    async def watch() -> None:
        mark = await in_thread(newest)
        while True:
            await asyncio.sleep(every)
            try:
                found = await in_thread(since, mark)
            except Exception:
                log.exception("reading the newest events failed")
                continue
            mark = max([mark, *found.values()])
            for workspace_id in sorted(found):
                if runtime.scope.holds(workspace_id):
                    for listener in list(runtime.listeners):
                        try:
                            listener(workspace_id, ())
                        except Exception:  # as in the runtime's feeder: never fatal
                            log.exception("event listener %r failed", listener)

    async with running(watch(), "arbiter-events-elsewhere"):
        yield


SERVING: tuple[BackgroundService, ...] = (demo, index_warmer)
"""Run by the processes that answer requests (roles ``all`` and ``api``)."""
WORKSPACE_WORK: tuple[BackgroundService, ...] = (
    pollers,
    storefront_checks,
    journey_export,
    incident_evaluator,
    events_elsewhere,
)
"""Each does only the workspaces the process holds (``runtime.scope``)."""
STORE_WORK: tuple[BackgroundService, ...] = (pending_sweeper, retention_sweeper)
"""Store-wide: run by one process at a time, the holder of the store's lease."""


@asynccontextmanager
async def background(runtime: Runtime) -> AsyncIterator[None]:
    """Start this process's background services by its role; stop them in reverse order."""
    role = runtime.settings.processes.role
    works = role in ("all", "worker")
    async with AsyncExitStack() as stack:
        if not runtime.settings.store.is_sqlite:
            if works:
                # Keeps the identity the process already showed (its polls' User-Agent).
                scope = LeasedScope(role, worker_id=runtime.scope.worker.id)
                runtime.scope = scope
                await stack.enter_async_context(lease_keeper(runtime, scope))
            holds = runtime.scope.holds if works else _none
            await stack.enter_async_context(shared_reports(runtime, holds))
        if role in ("all", "api"):
            for service in SERVING:
                await stack.enter_async_context(service(runtime))
        if role == "api":
            await stack.enter_async_context(open_incident_metrics(runtime))
        if works:
            for service in WORKSPACE_WORK:
                await stack.enter_async_context(service(runtime))
            await stack.enter_async_context(while_holding(runtime, leases.STORE, STORE_WORK))
        yield


def _none(_workspace_id: str) -> bool:
    return False


@asynccontextmanager
async def shared_reports(runtime: Runtime, holds: Callable[[str], bool]) -> AsyncIterator[None]:
    """Connector reports through the store, for the processes that do not make them."""
    shared = SharedConnectorStatuses(runtime.engine, holds)
    previous, runtime.connector_statuses = runtime.connector_statuses, shared
    try:
        yield
    finally:
        runtime.connector_statuses = previous
        await asyncio.to_thread(shared.close)


@asynccontextmanager
async def open_incident_metrics(runtime: Runtime) -> AsyncIterator[None]:
    """``arbiter_open_incidents`` on the /metrics of an API process: the workers evaluate the
    incidents, the store counts them (where the evaluator runs, it registers this itself)."""
    unregister = metrics.register_open_incidents(lambda: open_incident_counts(runtime))
    try:
        yield
    finally:
        unregister()


@asynccontextmanager
async def lease_keeper(runtime: Runtime, scope: LeasedScope) -> AsyncIterator[None]:
    """Run this worker's lease rounds; on a clean stop, hand every lease back at once."""
    settings = runtime.settings
    ttl, every = settings.processes.lease_seconds, settings.processes.lease_renew_seconds
    if every > ttl / 2:
        # A lease must survive a failed renewal, and the work stops one period before its end.
        every = ttl / 3
        log.warning("lease_renew_seconds is over half of lease_seconds: renewing every %gs", every)

    def one_round(release: set[str]) -> leases.Round:
        with runtime.engine.begin() as connection:
            return leases.lease_round(connection, scope.worker, ttl=ttl, release=release)

    async def loop() -> None:
        while True:
            started = time.monotonic()
            release = scope.releasable()
            try:
                done: leases.Round | None = await in_thread(one_round, release)
            except Exception:
                log.exception("lease round of %s failed", scope.worker.id)
                done = None
            # Stop a margin (one renewal period) before the database lets another take over.
            scope.update(done, started=started, valid_for=ttl - every, released=release)
            await asyncio.sleep(every)

    log.info("worker %s (%s) started: leases of %g s", scope.worker.id, scope.worker.role, ttl)
    try:
        async with running(loop(), "arbiter-leases"):
            yield
    finally:
        try:
            await in_thread(_leave, runtime, scope.worker.id)
        except Exception:
            log.exception("worker %s could not hand its leases back", scope.worker.id)


def _leave(runtime: Runtime, worker_id: str) -> None:
    with runtime.engine.begin() as connection:
        leases.leave(connection, worker_id)


@asynccontextmanager
async def while_holding(
    runtime: Runtime, key: str, services: Sequence[BackgroundService]
) -> AsyncIterator[None]:
    """Run ``services`` while this process holds ``key``: started when it is taken, stopped
    when it is lost or handed back."""

    async def supervise() -> None:
        while True:
            while not runtime.scope.holds(key):
                await asyncio.sleep(1.0)
            try:
                async with AsyncExitStack() as stack:
                    for service in services:
                        await stack.enter_async_context(service(runtime))
                    while runtime.scope.holds(key):
                        await asyncio.sleep(1.0)
            except Exception:  # each service logs its own failures; this is the last guard
                log.exception("the work of %s failed; started again while it is held", key)
                await asyncio.sleep(5.0)

    async with running(supervise(), f"arbiter-holding-{key}"):
        yield


async def run_worker(runtime: Runtime) -> None:
    """``arbiter worker``: the worker's background services until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with background(runtime):
        await stop.wait()
    log.info("worker stopped")
