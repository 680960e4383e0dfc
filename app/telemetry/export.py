"""Journeys → OTLP traces, so Jaeger or Grafana Tempo show the journeys Arbiter follows.

:func:`journey_export` is the background service: every ``otlp_export_interval_seconds`` it
exports, through the SDK's OTLP/HTTP exporter, the journeys that gained events since it last
looked and those whose pending hop has reached its deadline since (see
:mod:`app.telemetry.journey_spans` for the shape of each trace). A journey whose state did not
change is not sent again. Journeys whose last change predates the service's start are not
replayed. Any failure is logged and retried at the next round; it never reaches the service.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from sqlalchemy import Engine, func, select

from app.background import in_thread
from app.db.tables import event_refs, events
from app.diagnosis.service import IndexRegistry
from app.exceptions import NOTHING_TO_JUDGE
from app.runtime import Runtime
from app.settings import Settings
from app.telemetry import metrics
from app.telemetry.journey_spans import fingerprint, journey_key, journey_spans
from app.workspaces.service import list_workspaces

log = logging.getLogger("arbiter.telemetry")

_REFS_PER_ROUND = 50_000
_REMEMBERED = 100_000
"""Journeys per workspace whose last exported state is remembered."""


def span_exporter(settings: Settings) -> SpanExporter | None:
    """The OTLP/HTTP exporter to ``otlp_export_endpoint``; None when it is not set."""
    if not settings.otlp.export_endpoint:
        return None
    return OTLPSpanExporter(
        endpoint=traces_url(settings.otlp.export_endpoint),
        headers={k: v.get_secret_value() for k, v in settings.otlp.export_headers.items()},
        timeout=settings.otlp.export_timeout_seconds,
    )


def traces_url(endpoint: str) -> str:
    """The signal URL: ``/v1/traces`` added to a base URL without a path.

    >>> traces_url("http://collector:4318"), traces_url("https://x/otlp/v1/traces")
    ('http://collector:4318/v1/traces', 'https://x/otlp/v1/traces')
    """
    if urlsplit(endpoint).path in ("", "/"):
        return endpoint.rstrip("/") + "/v1/traces"
    return endpoint


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


@dataclass(eq=False)
class JourneyExporter:
    """Finds the journeys that changed and sends them as traces. Not thread-safe: one caller."""

    engine: Engine
    indexes: IndexRegistry
    exporter: SpanExporter
    _: KW_ONLY
    max_journeys: int = 2000
    journeys_per_request: int = 200
    holds: Callable[[str], bool] = lambda _workspace: True
    """Whether this process exports a workspace (several workers: app.workers)."""
    _start_seq: int | None = field(default=None, init=False)
    _workspaces: dict[str, _WorkspaceState] = field(default_factory=dict, init=False)

    def start(self) -> None:
        """From now on: journeys whose events were all stored before are not replayed."""
        with self.engine.connect() as connection:
            self._start_seq = connection.execute(select(func.max(events.c.seq))).scalar() or 0

    def export_once(self, now: datetime | None = None) -> ExportReport:
        """One round over every workspace; failures are logged and retried next round."""
        if self._start_seq is None:
            self.start()
        moment = now or datetime.now(UTC)
        with self.engine.connect() as connection:
            workspace_ids = [w.id for w in list_workspaces(connection)]
        for gone in set(self._workspaces) - set(workspace_ids):
            del self._workspaces[gone]
        total = ExportReport()
        for ws in workspace_ids:
            if not self.holds(ws):
                continue
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
            topology = self.indexes.topology(ws)
        except NOTHING_TO_JUDGE:  # no topology (yet), or deleted: nothing can be judged
            return ExportReport()
        index, lock = self.indexes.index(ws)
        batch: list[tuple[tuple[str, str], str, list[ReadableSpan], list[tuple[str, str]]]] = []
        handled: set[tuple[str, str]] = set()
        for ref in list(state.dirty)[: self.max_journeys]:
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
        with self.engine.connect() as connection:
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
                .limit(_REFS_PER_ROUND)
            ).all()
        last = None
        for row in rows:
            if row.seq != last:
                state.dirty.setdefault((row.namespace, row.value), None)
                last = row.seq
        # A full page may have cut the last event's refs short: read that event again next round.
        state.watermark = rows[-1].seq - 1 if len(rows) == _REFS_PER_ROUND else top

    def _send(
        self,
        state: _WorkspaceState,
        batch: Sequence[tuple[tuple[str, str], str, list[ReadableSpan], list[tuple[str, str]]]],
    ) -> ExportReport:
        journeys = spans = failed = 0
        for start in range(0, len(batch), self.journeys_per_request):
            chunk = batch[start : start + self.journeys_per_request]
            payload = [span for _, _, journey, _ in chunk for span in journey]
            try:
                result = self.exporter.export(payload)
            except Exception:
                log.exception("OTLP export failed")
                result = SpanExportResult.FAILURE
            if result == SpanExportResult.SUCCESS:
                for key, print_, _, _ in chunk:
                    state.sent.pop(key, None)  # re-inserted last: the most recent stay longest
                    state.sent[key] = print_
                while len(state.sent) > _REMEMBERED:
                    # Forgetting only costs sending an unchanged journey again some day.
                    del state.sent[next(iter(state.sent))]
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
    worker = JourneyExporter(runtime.engine, runtime.indexes, exporter, holds=runtime.scope.holds)
    interval = runtime.settings.otlp.export_interval_seconds
    stop = asyncio.Event()

    async def run() -> None:
        while not stop.is_set():
            try:
                await in_thread(worker.export_once)
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
