"""Gathers what the warning rules need from the index, the event store and the connectors.

Connector status
----------------
Pollers and webhook receivers report what only they know with
:func:`record_connector_status` (kept in memory, latest report per system wins, keys merged).
Every key is optional::

    record_connector_status(runtime, "acme", "oms", {
        "rate_limit": {"limit": 100, "remaining": 12, "window_seconds": 60},  # BaseLinker
        "webhook_disabled": False,        # WooCommerce set the webhook to "disabled"
        "last_poll_at": "2026-11-25T11:59:30Z",
        "poll_interval_seconds": 60,      # also sets the system's expected reporting gap
        "last_error": "401 Unauthorized",  # or None once it recovered
    })
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from app.runtime import Runtime
from app.warnings.models import WarningList
from app.warnings.rules import (
    Activity,
    CallStats,
    LinkFigures,
    WarningInputs,
    call_stats,
    compute_warnings,
    usual_gap,
)
from app.warnings.statuses import ConnectorStatuses
from graph.journeys import Call
from graph.model import ARBITER_SYSTEM, Topology


def connector_statuses(runtime: Runtime) -> ConnectorStatuses:
    return runtime.connector_statuses


def record_connector_status(
    runtime: Runtime, workspace_id: str, system: str, status: Mapping[str, Any]
) -> None:
    """Report what a connector knows about ``system`` (keys: see the module docstring)."""
    connector_statuses(runtime).record(workspace_id, system, status)


_Call = tuple[datetime, int | None, float]


def _calls(calls: Iterable[Call]) -> dict[tuple[str, str, str], list[_Call]]:
    """The calls by (flow, caller, target), as (time, status, duration_ms)."""
    found: dict[tuple[str, str, str], list[_Call]] = {}
    for call in calls:
        moment = datetime.fromtimestamp(call.time, UTC)
        found.setdefault((call.flow, call.caller, call.target), []).append(
            (moment, call.status, call.duration_ms)
        )
    return found


def _activity(seen: Mapping[str, tuple[datetime, list[datetime]]]) -> list[Activity]:
    return [
        Activity(system, last, usual_gap(recent))
        for system, (last, recent) in sorted(seen.items())
        if system != ARBITER_SYSTEM
    ]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def gather(
    runtime: Runtime, workspace_id: str, topology: Topology, as_of: datetime
) -> WarningInputs:
    settings = runtime.settings
    window = settings.warnings.window_seconds
    before = as_of - timedelta(seconds=window)
    index, lock = runtime.indexes.index(workspace_id)
    with lock:
        health_now = index.link_health(topology, as_of=as_of, window_seconds=window)
        health_before = index.link_health(topology, as_of=before, window_seconds=window)
        calls = _calls(index.calls_between(start=before - timedelta(seconds=window), end=as_of))
        seen = index.activity(since=as_of - timedelta(seconds=2 * window), until=as_of)

    def split(found: list[_Call]) -> tuple[CallStats, CallStats]:
        return (
            call_stats([c for c in found if c[0] > before]),
            call_stats([c for c in found if c[0] <= before]),
        )

    figures: list[LinkFigures] = []
    for link, now, earlier in zip(topology.links, health_now, health_before, strict=True):
        recent, previous = split(calls.get((link.flow, link.caller, link.callee), []))
        figures.append(
            LinkFigures(
                link=now.link,
                sla_seconds=link.sla_seconds,
                status=now.status,
                recent=recent,
                previous=previous,
                waiting_now=now.entities.pending,
                waiting_before=earlier.entities.pending,
            )
        )
    probes: dict[str, list[_Call]] = {}
    for (_flow, caller, target), found in calls.items():
        if caller == ARBITER_SYSTEM:
            probes.setdefault(target, []).extend(c for c in found if c[0] > before)
    return WarningInputs(
        as_of=as_of,
        window_seconds=window,
        links=figures,
        probes={system: call_stats(found) for system, found in probes.items() if found},
        activity=_activity(seen),
        connectors=connector_statuses(runtime).of(workspace_id),
    )


def warnings_for(runtime: Runtime, workspace_id: str, as_of: datetime) -> WarningList:
    settings = runtime.settings
    topology = runtime.indexes.topology(workspace_id)
    inputs = gather(runtime, workspace_id, topology, as_of)
    return WarningList(
        as_of=as_of,
        window_seconds=inputs.window_seconds,
        warnings=compute_warnings(
            inputs,
            silence_factor=settings.warnings.silence_factor,
            silence_min_seconds=settings.warnings.silence_min_seconds,
        ),
    )
