"""Runs each enabled check on its interval (like the pollers), and one check on demand.

A run's event and the check's new status are committed together through the writer; the
warning rules then hear of the certificate's days left and a slow page through the target's
connector status (:mod:`app.checks.warnings`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx

from app.background import Jobs, in_thread, running
from app.checks.models import CheckIn
from app.checks.probes import Resolver, run_probe, system_resolve
from app.checks.service import Due, all_enabled, check_flow, next_status, persist, result_event
from app.exceptions import Conflict
from app.runtime import Runtime
from app.warnings.service import connector_statuses, record_connector_status
from connectors.http import EgressTransport

log = logging.getLogger("arbiter.checks")

TICK_SECONDS = 1.0


def check_client(runtime: Runtime) -> httpx.AsyncClient:
    """The client every page check goes through: the egress policy on every request."""
    return httpx.AsyncClient(
        transport=EgressTransport(runtime.settings.egress),
        headers={"User-Agent": "Arbiter storefront check"},
    )


async def run_check(
    runtime: Runtime,
    workspace_id: str,
    check_id: str,
    check: CheckIn,
    previous: dict[str, Any],
    *,
    client: httpx.AsyncClient,
    resolve: Resolver = system_resolve,
) -> dict[str, Any]:
    """Run the check once, store its event and status, report it to the warning rules;
    returns the new status."""
    topology = await in_thread(runtime.indexes.topology, workspace_id)
    if topology.system(check.target) is None:
        raise Conflict(f"'{check.target}' is no longer a system of the topology")
    result = await run_probe(check, client=client, mode=runtime.settings.egress, resolve=resolve)
    status = next_status(check, previous, result)
    event = result_event(check_id, check, result, check_flow(topology, check.target))
    stored = await runtime.writer.run_async(
        partial(persist, workspace_id, check_id, event, topology, status)
    )
    runtime.events_stored(workspace_id, stored)
    _report(runtime, workspace_id, check_id, check, status)
    return status


def _report(
    runtime: Runtime, workspace_id: str, check_id: str, check: CheckIn, status: dict[str, Any]
) -> None:
    # The connector status merges top-level keys: keep the other checks of the same target.
    known = connector_statuses(runtime).of(workspace_id).get(check.target, {})
    checks = dict(known.get("storefront_checks") or {})
    checks[check_id] = {
        "kind": check.kind,
        "page": check.page,
        "host": check.host,
        "days_left": status.get("days_left") if check.kind == "tls" else None,
        "slow": status.get("slow"),
        "duration_ms": (status.get("last") or {}).get("duration_ms"),
        "usual_ms": status.get("usual_ms"),
        "slow_factor": check.slow_factor,
        "failures": status.get("consecutive_failures"),
        "error": (status.get("last") or {}).get("error"),
    }
    record_connector_status(runtime, workspace_id, check.target, {"storefront_checks": checks})


def forget(runtime: Runtime, workspace_id: str, check_id: str) -> None:
    """Drop a deleted or redefined check's last report, so no warning outlives it."""
    for system, status in connector_statuses(runtime).of(workspace_id).items():
        checks = dict(status.get("storefront_checks") or {})
        if checks.pop(check_id, None) is not None:
            record_connector_status(runtime, workspace_id, system, {"storefront_checks": checks})


async def _loop(runtime: Runtime) -> None:
    next_due: dict[tuple[str, str], float] = {}
    async with check_client(runtime) as client, Jobs[tuple[str, str]]() as jobs:
        while True:
            try:
                due = await in_thread(_enabled, runtime)
            except Exception:
                log.exception("could not load the storefront checks")
                due = []
            now = time.monotonic()
            for item in due:
                key = (item.workspace_id, item.check_id)
                if not runtime.scope.holds(item.workspace_id):
                    continue  # another worker's workspace (app.workers)
                if key in jobs or next_due.get(key, 0.0) > now:
                    continue
                next_due[key] = now + item.check.interval_seconds
                task = jobs.start(key, _guarded(runtime, item, client))
                runtime.scope.track(item.workspace_id, task)
            await asyncio.sleep(TICK_SECONDS)


def _enabled(runtime: Runtime) -> list[Due]:
    with runtime.engine.connect() as connection:
        return all_enabled(connection)


async def _guarded(runtime: Runtime, item: Due, client: httpx.AsyncClient) -> None:
    try:
        await run_check(
            runtime, item.workspace_id, item.check_id, item.check, item.status, client=client
        )
    except Exception:  # one check's failure must not stop the others
        log.exception("check %s/%s failed to run", item.workspace_id, item.check_id)


@asynccontextmanager
async def storefront_checks(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: run every enabled check on its interval while the server runs."""
    async with running(_loop(runtime), "arbiter-storefront-checks"):
        yield
