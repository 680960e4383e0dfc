"""The incident evaluator: diagnoses workspaces and keeps their incidents, on its own.

:func:`evaluate_workspace` is one evaluation as of a given moment (tests call it directly with
their own clock). :func:`incident_evaluator` is the background service: it evaluates every
workspace that has a topology every ``incident_interval_seconds``, and a workspace that just
received events ``incident_debounce_seconds`` after the first of them (a burst of batches is
one evaluation). Diagnoses run in a worker thread, never on the event loop; an evaluation that
fails is logged and recorded as a failed :class:`EvaluationResult`, and the loop goes on.
Alerts are handed to the :class:`~app.notifications.dispatcher.Dispatcher`, which sends them
from threads of its own: a slow or failing channel never delays a diagnosis.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.db.tables import topologies
from app.exceptions import NOTHING_TO_JUDGE
from app.incidents.lifecycle import Policy, link_key, observe, step
from app.incidents.service import latest_by_key, save
from app.incidents.state import EvaluationResult, IncidentState
from app.incidents.tables import incidents
from app.maintenance.service import suspect_filter
from app.runtime import Runtime
from app.settings import Settings
from app.telemetry import metrics
from graph.model import Event

log = logging.getLogger("arbiter.incidents")


def incident_state(runtime: Runtime) -> IncidentState:
    return runtime.incidents


def policy_of(settings: Settings) -> Policy:
    return Policy(
        min_affected=settings.incidents.min_affected,
        min_duration_seconds=settings.incidents.min_duration_seconds,
        resolve_after_seconds=settings.incidents.resolve_after_seconds,
        escalation_factors=tuple(sorted(settings.incidents.escalation_factors)),
        flap_window_seconds=settings.incidents.flap_window_seconds,
    )


def evaluate_workspace(
    runtime: Runtime, workspace_id: str, as_of: datetime | None = None
) -> EvaluationResult:
    """Diagnose ``workspace_id`` as of ``as_of`` (default: now) and update its incidents.

    Blocking (diagnosis and store): call it from a worker thread. Never raises.
    """
    moment = (as_of or datetime.now(UTC)).astimezone(UTC)
    state = incident_state(runtime)
    started = time.perf_counter()
    with state.locks(workspace_id):
        try:
            result = _evaluate(runtime, state, workspace_id, moment)
        except NOTHING_TO_JUDGE as exc:  # the workspace or its topology is gone
            result = EvaluationResult(workspace_id, moment, ok=True, skipped=str(exc))
        except Exception as exc:
            log.exception("incident evaluation of workspace %s failed", workspace_id)
            result = EvaluationResult(
                workspace_id, moment, ok=False, error=f"{type(exc).__name__}: {exc}"
            )
        result = _timed(result, time.perf_counter() - started)
        state.results[workspace_id] = result
    return result


def _timed(result: EvaluationResult, seconds: float) -> EvaluationResult:
    return replace(result, seconds=round(seconds, 4))


def _evaluate(
    runtime: Runtime, state: IncidentState, workspace_id: str, as_of: datetime
) -> EvaluationResult:
    settings = runtime.settings
    window = settings.incidents.window_seconds
    topology = runtime.indexes.topology(workspace_id)
    index, lock = runtime.indexes.index(workspace_id)
    with lock, metrics.time_diagnosis("evaluator"):
        diagnosis = index.diagnose(topology, as_of=as_of, window_seconds=window)
        health = index.link_health(topology, as_of=as_of, window_seconds=window)
    with runtime.engine.connect() as connection:
        planned = suspect_filter(connection, workspace_id, as_of)  # no incident for maintenance
    observations = observe(s for s in diagnosis.suspects if not planned(s))
    last_success = {link_key(h.link): h.last_success for h in health}
    with runtime.engine.begin() as connection:
        runtime.scope.fence(connection, workspace_id)  # another worker took it meanwhile
        changes = step(
            latest_by_key(connection, workspace_id),
            observations,
            last_success,
            as_of=as_of,
            policy=policy_of(settings),
        )
        for change in changes:
            save(connection, workspace_id, change.record, change.timeline)
    alerts = [alert for change in changes for alert in change.alerts]
    queued = state.dispatcher.submit(workspace_id, alerts) if alerts else 0

    def ids(kind: str) -> tuple[int, ...]:
        return tuple(c.record.id for c in changes if c.kind == kind and c.record.id is not None)

    return EvaluationResult(
        workspace_id,
        as_of,
        ok=True,
        suspects=len(diagnosis.suspects),
        opened=ids("opened"),
        reopened=ids("reopened"),
        updated=ids("updated"),
        resolved=ids("resolved"),
        alerts=tuple((a.event, a.incident.id) for a in alerts if a.incident.id is not None),
        notifications_queued=queued,
    )


def open_incident_counts(runtime: Runtime) -> dict[str, int]:
    """Open incidents per workspace, read from the store at each scrape of ``/metrics``
    (``arbiter_open_incidents``): every process that serves it tells the same figure."""
    status = incidents.c.status
    query = select(incidents.c.workspace_id, func.count()).where(status == "open")
    with runtime.engine.connect() as connection:
        rows = connection.execute(query.group_by(incidents.c.workspace_id))
        return {workspace_id: count for workspace_id, count in rows}


def workspaces_to_evaluate(runtime: Runtime) -> list[str]:
    """Every workspace with a topology (without one there is nothing to diagnose) that this
    process holds."""
    with runtime.engine.connect() as connection:
        rows = connection.execute(
            select(topologies.c.workspace_id).order_by(topologies.c.workspace_id)
        )
        return [row.workspace_id for row in rows if runtime.scope.holds(row.workspace_id)]


class _Scheduler:
    """Full passes on a schedule; a debounced pass for each workspace that got events."""

    def __init__(self, runtime: Runtime, loop: asyncio.AbstractEventLoop) -> None:
        self.runtime = runtime
        self.loop = loop
        self.interval = runtime.settings.incidents.interval_seconds
        self.debounce = runtime.settings.incidents.debounce_seconds
        self.dirty: dict[str, float] = {}
        self.wake = asyncio.Event()
        # One thread: evaluations run one after another, never piling up behind a slow one.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="arbiter-incidents")

    def events_stored(self, workspace_id: str, _stored: Sequence[tuple[int, Event]]) -> None:
        """Runtime listener: may be called from any thread; only schedules, never blocks."""
        with suppress(RuntimeError):  # the loop is closed: the service is stopping
            self.loop.call_soon_threadsafe(self._mark, workspace_id)

    def _mark(self, workspace_id: str) -> None:
        self.dirty.setdefault(workspace_id, time.monotonic() + self.debounce)
        self.wake.set()

    async def _evaluate(self, workspace_ids: Sequence[str]) -> None:
        for workspace_id in workspace_ids:
            try:
                await self.loop.run_in_executor(
                    self.executor, evaluate_workspace, self.runtime, workspace_id, None
                )
            except Exception:  # evaluate_workspace never raises; this is the last guard
                log.exception("incident evaluation of %s could not run", workspace_id)

    async def run(self) -> None:
        next_full = time.monotonic() + self.interval
        while True:
            now = time.monotonic()
            if now >= next_full:
                self.dirty.clear()
                try:
                    names = await self.loop.run_in_executor(
                        self.executor, workspaces_to_evaluate, self.runtime
                    )
                except Exception:
                    log.exception("could not list the workspaces to evaluate")
                    names = []
                await self._evaluate(names)
                next_full = time.monotonic() + self.interval
            else:
                due = sorted(ws for ws, deadline in self.dirty.items() if deadline <= now)
                due = [ws for ws in due if self.runtime.scope.holds(ws)]
                for workspace_id in due:
                    del self.dirty[workspace_id]
                await self._evaluate(due)
            self.wake.clear()
            deadline = min([next_full, *self.dirty.values()], default=math.inf)
            with suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), max(deadline - time.monotonic(), 0))


@asynccontextmanager
async def incident_evaluator(runtime: Runtime) -> AsyncIterator[None]:
    """Background service (``app.main.BACKGROUND``); off when the interval setting is 0."""
    state = incident_state(runtime)
    unregister = metrics.register_open_incidents(lambda: open_incident_counts(runtime))
    if runtime.settings.incidents.interval_seconds <= 0:
        try:
            yield
        finally:
            unregister()
            await asyncio.to_thread(state.dispatcher.close)
        return
    scheduler = _Scheduler(runtime, asyncio.get_running_loop())
    runtime.listeners.append(scheduler.events_stored)
    task = asyncio.create_task(scheduler.run(), name="arbiter-incident-evaluator")
    try:
        yield
    finally:
        runtime.listeners.remove(scheduler.events_stored)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        # Let an evaluation in progress finish before the store closes under it.
        await asyncio.to_thread(scheduler.executor.shutdown, True)
        await asyncio.to_thread(state.dispatcher.close)
        unregister()
