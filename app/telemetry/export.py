"""Journeys → OTLP traces, so Jaeger or Grafana Tempo show the journeys Arbiter follows.

Each journey is one trace whose id is derived from the workspace and the id its entry system
gave the entity (see :func:`journey_key`): the same journey always lands in the same trace,
whichever process exports it and however many ids later systems add. Its spans::

    journey shop:100045                       (service arbiter-journeys; ERROR when a hop failed)
     ├── order shop→oms                       one span per hop: status, mode, responsible,
     │    └── GET shop                        owner, SLA; a CLIENT span per call, from the
     └── order oms→erp                        caller's service to the target (peer.service),
          └── POST erp                        with the HTTP semantic conventions

Spans are built after the fact, with the times the events carry and ids derived from them, so
they are assembled as SDK ``ReadableSpan`` objects rather than recorded through a live tracer,
and handed to the SDK's OTLP/HTTP exporter. Re-exporting an unchanged journey sends the same
ids.

:func:`journey_export` is the background service: every ``otlp_export_interval_seconds`` it
exports the journeys that gained events since it last looked, and those whose pending hop has
reached its deadline since. Journeys whose last change predates the service's start are not
replayed. Any failure is logged and retried at the next round; it never reaches the service.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags
from sqlalchemy import Engine, func, select

from app.db.tables import event_refs, events
from app.diagnosis.service import IndexRegistry
from app.errors import ApiError
from app.runtime import Runtime
from app.settings import Settings
from app.telemetry import metrics
from app.workspaces.service import list_workspaces
from graph.model import Link, Topology
from graph.results import CallEvidence, Trace, TraceHop

log = logging.getLogger("arbiter.telemetry")

JOURNEY_SERVICE = "arbiter-journeys"
MAX_CALLS_PER_HOP = 100
_SCOPE = InstrumentationScope("arbiter.journeys", "1")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def span_exporter(settings: Settings) -> SpanExporter | None:
    """The OTLP/HTTP exporter to ``otlp_export_endpoint``; None when it is not set."""
    if not settings.otlp_export_endpoint:
        return None
    return OTLPSpanExporter(
        endpoint=traces_url(settings.otlp_export_endpoint),
        headers={k: v.get_secret_value() for k, v in settings.otlp_export_headers.items()},
        timeout=settings.otlp_export_timeout_seconds,
    )


def traces_url(endpoint: str) -> str:
    """The signal URL: ``/v1/traces`` added to a base URL without a path.

    >>> traces_url("http://collector:4318"), traces_url("https://x/otlp/v1/traces")
    ('http://collector:4318/v1/traces', 'https://x/otlp/v1/traces')
    """
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


# -- one journey as spans ---------------------------------------------------------------------


def journey_key(journey: Trace, topology: Topology) -> tuple[str, str]:
    """What the journey's trace id is made from: the id the entry system gave the entity.

    The entry system (the source of the journey's flow) names the entity first and keeps that
    name, so the trace id stays put as later systems add their own ids. Without such an id the
    smallest ``(namespace, value)`` is taken.
    """
    flows = {hop.flow for hop in journey.hops}
    targets = {(link.flow, link.to) for link in topology.links}
    sources = sorted(
        {link.from_ for link in topology.links if link.flow in flows}
        - {system for flow, system in targets if flow in flows}
    )
    for namespace in sources:
        values = journey.refs.get(namespace)
        if values:
            return namespace, min(values)
    return min((ns, value) for ns, values in journey.refs.items() for value in values)


def trace_id_of(workspace: str, key: tuple[str, str]) -> int:
    """A 128-bit trace id that depends only on the workspace and the journey key.

    >>> hex(trace_id_of("acme", ("shop", "100045")))[:10]
    '0xc70065e6'
    """
    digest = hashlib.sha256(json.dumps([workspace, *key]).encode()).digest()
    return int.from_bytes(digest[:16], "big") or 1


def _span_id(trace_id: int, *parts: str) -> int:
    digest = hashlib.sha256(json.dumps([f"{trace_id:032x}", *parts]).encode()).digest()
    return int.from_bytes(digest[:8], "big") or 1


def _nanos(moment: datetime | str) -> int:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000) * 1000


def journey_spans(workspace: str, journey: Trace, topology: Topology) -> list[ReadableSpan]:
    """The spans of one journey: a root, a span per hop, a CLIENT span per call."""
    return _JourneySpans(workspace, journey, topology).build()


@dataclass
class _JourneySpans:
    workspace: str
    journey: Trace
    topology: Topology
    spans: list[ReadableSpan] = field(default_factory=list)
    _resources: dict[str, Resource] = field(default_factory=dict)

    def build(self) -> list[ReadableSpan]:
        journey = self.journey
        key = journey_key(journey, self.topology)
        trace_id = trace_id_of(self.workspace, key)
        root = SpanContext(trace_id, _span_id(trace_id, "journey"), False, _SAMPLED)
        by_id = {str(e.get("id")): e for e in journey.events}
        times = [_nanos(e["time"]) for e in journey.events] or [_nanos(journey.as_of)]
        ends = [_call_end(e) for e in journey.events]
        start, end = min(times), max([*times, *ends])
        done: set[str] = set()
        for hop in journey.hops:
            self._hop(root, hop, by_id, done, start)
        for event in journey.events:  # calls no hop claimed: still part of the story
            if event.get("kind") == "call" and event.get("id") not in done:
                self.spans.append(self._call(root, _evidence(event), event))
        failure = journey.failure
        pending = any(h.status == "pending" for h in journey.hops)
        attributes: dict[str, Any] = {
            "arbiter.workspace": self.workspace,
            "arbiter.journey.key": f"{key[0]}:{key[1]}",
            "arbiter.journey.status": "failed" if failure else "pending" if pending else "ok",
            "arbiter.journey.flows": sorted({h.flow for h in journey.hops}),
        }
        for ns, values in journey.refs.items():
            attributes[f"arbiter.ref.{ns}"] = values
        status = Status(StatusCode.UNSET)
        if failure is not None:
            attributes.update(
                {
                    "arbiter.failure.link": _hop_name(failure),
                    "arbiter.failure.mode": failure.mode or "",
                    "arbiter.failure.responsible": failure.responsible or "",
                }
            )
            status = Status(
                StatusCode.ERROR,
                f"{_hop_name(failure)} {failure.mode}: {failure.responsible} answers for it",
            )
        seen = [
            SpanEvent(
                f"seen in {e['system']}",
                _clean(
                    {
                        "arbiter.system": e["system"],
                        "arbiter.event.id": e["id"],
                        "arbiter.state": e.get("state"),
                        "arbiter.quantity": e.get("quantity"),
                    }
                ),
                _nanos(e["time"]),
            )
            for e in journey.events
            if e.get("kind") == "seen"
        ]
        self.spans.insert(
            0,
            ReadableSpan(
                name=f"journey {key[0]}:{key[1]}",
                context=root,
                parent=None,
                resource=self._resource(JOURNEY_SERVICE),
                attributes=attributes,
                events=seen,
                kind=SpanKind.INTERNAL,
                status=status,
                start_time=start,
                end_time=end,
                instrumentation_scope=_SCOPE,
            ),
        )
        return self.spans

    def _hop(
        self,
        root: SpanContext,
        hop: TraceHop,
        by_id: dict[str, dict[str, Any]],
        done: set[str],
        journey_start: int,
    ) -> None:
        link = self._link(hop)
        context = SpanContext(
            root.trace_id,
            _span_id(root.trace_id, "hop", hop.flow, hop.link.from_, hop.link.to),
            False,
            _SAMPLED,
        )
        calls = [c for c in hop.calls if c.id not in done][:MAX_CALLS_PER_HOP]
        done.update(c.id for c in calls)
        call_starts = [_nanos(c.time) for c in calls]
        call_ends = [s + int(c.duration_ms * 1e6) for s, c in zip(call_starts, calls, strict=True)]
        start = _nanos(hop.entered) if hop.entered else min(call_starts, default=journey_start)
        if hop.arrived is not None:
            end = _nanos(hop.arrived)
        elif hop.status == "failed" and hop.deadline is not None:
            end = _nanos(hop.deadline)
        else:
            end = max(call_ends, default=start)
        attributes = _clean(
            {
                "arbiter.hop.status": hop.status,
                "arbiter.hop.mode": hop.mode,
                "arbiter.hop.responsible": hop.responsible,
                "arbiter.hop.blamed": hop.blamed,
                "arbiter.hop.detail": hop.detail,
                "arbiter.hop.deadline": hop.deadline.isoformat() if hop.deadline else None,
                "arbiter.link.flow": hop.flow,
                "arbiter.link.from": hop.link.from_,
                "arbiter.link.to": hop.link.to,
                "arbiter.link.initiator": link.initiator if link else None,
                "arbiter.link.owner": link.owner if link else None,
                "arbiter.link.sla_seconds": link.sla_seconds if link else None,
                "arbiter.calls": len(hop.calls),
            }
        )
        if hop.quantities:
            for side, quantity in hop.quantities.items():
                if quantity is not None:
                    attributes[f"arbiter.quantity.{side}"] = quantity
        status = Status(StatusCode.UNSET)
        if hop.status == "failed":
            status = Status(StatusCode.ERROR, f"{hop.mode}: {hop.responsible} answers for it")
        self.spans.append(
            ReadableSpan(
                name=_hop_name(hop),
                context=context,
                parent=root,
                resource=self._resource(JOURNEY_SERVICE),
                attributes=attributes,
                kind=SpanKind.INTERNAL,
                status=status,
                start_time=start,
                end_time=max(start, end),
                instrumentation_scope=_SCOPE,
            )
        )
        for call in calls:
            self.spans.append(self._call(context, call, by_id.get(call.id)))

    def _call(
        self, parent: SpanContext, call: CallEvidence, event: dict[str, Any] | None
    ) -> ReadableSpan:
        data = (event or {}).get("data") or {}
        method = data.get("http.request.method") if isinstance(data, dict) else None
        attributes: dict[str, Any] = {
            "server.address": call.target,
            "peer.service": call.target,
            "arbiter.event.id": call.id,
            "arbiter.flow": call.flow,
            "arbiter.call.link_level": call.link_level,
        }
        if isinstance(method, str) and method:
            attributes["http.request.method"] = method
        if call.status is not None:
            attributes["http.response.status_code"] = call.status
        status = Status(StatusCode.UNSET)
        if call.status is None or call.status >= 400:
            attributes["error.type"] = str(call.status) if call.status else "no_response"
            status = Status(StatusCode.ERROR, call.error or attributes["error.type"])
        start = _nanos(call.time)
        return ReadableSpan(
            name=f"{method or 'HTTP'} {call.target}",
            context=SpanContext(
                parent.trace_id, _span_id(parent.trace_id, call.id), False, _SAMPLED
            ),
            parent=parent,
            resource=self._resource(call.caller),
            attributes=attributes,
            kind=SpanKind.CLIENT,
            status=status,
            start_time=start,
            end_time=start + int(call.duration_ms * 1e6),
            instrumentation_scope=_SCOPE,
        )

    def _link(self, hop: TraceHop) -> Link | None:
        return next(
            (
                link
                for link in self.topology.links
                if (link.flow, link.from_, link.to) == (hop.flow, hop.link.from_, hop.link.to)
            ),
            None,
        )

    def _resource(self, service: str) -> Resource:
        resource = self._resources.get(service)
        if resource is None:
            resource = Resource({"service.name": service, "service.namespace": self.workspace})
            self._resources[service] = resource
        return resource


def _hop_name(hop: TraceHop) -> str:
    return f"{hop.flow} {hop.link.from_}→{hop.link.to}"


def _call_end(event: dict[str, Any]) -> int:
    outcome = event.get("outcome") or {}
    return _nanos(event["time"]) + int(float(outcome.get("duration_ms", 0)) * 1e6)


def _evidence(event: dict[str, Any]) -> CallEvidence:
    outcome = event.get("outcome") or {}
    return CallEvidence(
        id=event["id"],
        time=datetime.fromisoformat(event["time"]),
        flow=event["flow"],
        caller=event["system"],
        target=event["target"],
        status=outcome.get("status"),
        error=outcome.get("error"),
        duration_ms=float(outcome.get("duration_ms", 0)),
        link_level=not event.get("refs"),
    )


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attributes.items() if v is not None}


def fingerprint(journey: Trace) -> str:
    """What makes a journey worth exporting again: its events and its hops' states."""
    state = [
        sorted(str(e.get("id")) for e in journey.events),
        [
            (h.flow, h.link.from_, h.link.to, h.status, h.mode, h.responsible, h.blamed)
            for h in journey.hops
        ],
        sorted((ns, v) for ns, values in journey.refs.items() for v in values),
    ]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


# -- which journeys changed, and sending them ---------------------------------------------------


@dataclass
class _WorkspaceState:
    watermark: int
    dirty: dict[tuple[str, str], None] = field(default_factory=dict)
    sent: dict[tuple[str, str], str] = field(default_factory=dict)
    """journey key → fingerprint last exported."""
    deadlines: dict[tuple[str, str], float] = field(default_factory=dict)
    """journey key → epoch seconds when a pending hop of it falls due."""


@dataclass(frozen=True)
class ExportReport:
    journeys: int = 0
    spans: int = 0
    failed: int = 0


class JourneyExporter:
    """Finds the journeys that changed and sends them as traces. Not thread-safe: one caller."""

    def __init__(
        self,
        engine: Engine,
        indexes: IndexRegistry,
        exporter: SpanExporter,
        *,
        max_journeys: int = 2000,
        journeys_per_request: int = 200,
    ) -> None:
        self._engine = engine
        self._indexes = indexes
        self._exporter = exporter
        self._max_journeys = max_journeys
        self._per_request = journeys_per_request
        self._start_seq: int | None = None
        self._workspaces: dict[str, _WorkspaceState] = {}

    def start(self) -> None:
        """From now on: journeys whose events were all stored before are not replayed."""
        with self._engine.connect() as connection:
            self._start_seq = connection.execute(select(func.max(events.c.seq))).scalar() or 0

    def export_once(self, now: datetime | None = None) -> ExportReport:
        """One round over every workspace; failures are logged and retried next round."""
        if self._start_seq is None:
            self.start()
        moment = now or datetime.now(UTC)
        with self._engine.connect() as connection:
            workspace_ids = [w.id for w in list_workspaces(connection)]
        for gone in set(self._workspaces) - set(workspace_ids):
            del self._workspaces[gone]
        total = ExportReport()
        for ws in workspace_ids:
            try:
                report = self._export_workspace(ws, moment)
            except Exception:  # one workspace's trouble must not stop the others
                log.exception("exporting the journeys of workspace %s failed", ws)
                continue
            total = ExportReport(
                total.journeys + report.journeys,
                total.spans + report.spans,
                total.failed + report.failed,
            )
        return total

    def _export_workspace(self, ws: str, now: datetime) -> ExportReport:
        assert self._start_seq is not None
        state = self._workspaces.setdefault(ws, _WorkspaceState(self._start_seq))
        self._collect(ws, state)
        due = [key for key, at in state.deadlines.items() if at <= now.timestamp()]
        for key in due:
            del state.deadlines[key]
            state.dirty.setdefault(key, None)
        if not state.dirty:
            return ExportReport()
        try:
            topology = self._indexes.topology(ws)
        except ApiError:  # no topology (yet): nothing can be judged
            return ExportReport()
        index, lock = self._indexes.index(ws)
        batch: list[tuple[tuple[str, str], str, list[ReadableSpan], list[tuple[str, str]]]] = []
        handled: set[tuple[str, str]] = set()
        for ref in list(state.dirty)[: self._max_journeys]:
            del state.dirty[ref]
            with lock:
                journey = index.trace(topology, ref[0], ref[1], as_of=now)
            if journey is None or not journey.refs:
                continue
            key = journey_key(journey, topology)
            if key in handled:
                continue
            handled.add(key)
            due_at = [
                h.deadline.timestamp()
                for h in journey.hops
                if h.status == "pending" and h.deadline is not None
            ]
            if due_at:
                state.deadlines[key] = min(due_at)
            else:
                state.deadlines.pop(key, None)
            print_ = fingerprint(journey)
            if state.sent.get(key) == print_:
                continue
            batch.append((key, print_, journey_spans(ws, journey, topology), [ref]))
        return self._send(state, batch)

    def _collect(self, ws: str, state: _WorkspaceState) -> None:
        """Mark the journeys of events stored since the last round (one ref per event)."""
        with self._engine.connect() as connection:
            top = connection.execute(
                select(func.max(events.c.seq)).where(events.c.workspace_id == ws)
            ).scalar()
            if top is None or top <= state.watermark:
                return
            rows = connection.execute(
                select(event_refs.c.seq, event_refs.c.namespace, event_refs.c.value)
                .where(
                    event_refs.c.workspace_id == ws,
                    event_refs.c.seq > state.watermark,
                    event_refs.c.seq <= top,
                )
                .order_by(event_refs.c.seq)
            ).all()
        last = None
        for row in rows:
            if row.seq != last:
                state.dirty.setdefault((row.namespace, row.value), None)
                last = row.seq
        state.watermark = top

    def _send(
        self,
        state: _WorkspaceState,
        batch: Sequence[tuple[tuple[str, str], str, list[ReadableSpan], list[tuple[str, str]]]],
    ) -> ExportReport:
        journeys = spans = failed = 0
        for start in range(0, len(batch), self._per_request):
            chunk = batch[start : start + self._per_request]
            payload = [span for _, _, journey, _ in chunk for span in journey]
            try:
                result = self._exporter.export(payload)
            except Exception:
                log.exception("OTLP export failed")
                result = SpanExportResult.FAILURE
            if result == SpanExportResult.SUCCESS:
                for key, print_, _, _ in chunk:
                    state.sent[key] = print_
                journeys += len(chunk)
                spans += len(payload)
            else:
                for _, _, _, refs in chunk:  # try those journeys again next round
                    for ref in refs:
                        state.dirty.setdefault(ref, None)
                failed += len(chunk)
        if journeys:
            metrics.EXPORTED.labels("exported").inc(journeys)
        if failed:
            metrics.EXPORTED.labels("failed").inc(failed)
            log.warning("%d journeys could not be exported; retrying next round", failed)
        return ExportReport(journeys, spans, failed)


@asynccontextmanager
async def journey_export(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: export changed journeys periodically; off without an endpoint."""
    exporter = span_exporter(runtime.settings)
    if exporter is None:
        yield
        return
    worker = JourneyExporter(runtime.engine, runtime.indexes, exporter)
    interval = runtime.settings.otlp_export_interval_seconds
    stop = asyncio.Event()

    async def run() -> None:
        while not stop.is_set():
            try:
                await asyncio.to_thread(worker.export_once)
            except Exception:
                log.exception("journey export round failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    task = asyncio.create_task(run(), name="arbiter-journey-export")
    try:
        yield
    finally:
        stop.set()
        try:
            await task
        finally:
            await asyncio.to_thread(exporter.shutdown)
