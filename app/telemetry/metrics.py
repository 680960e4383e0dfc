"""Prometheus metrics of the service, served at ``GET /metrics`` (text format, no auth).

Other modules record through the functions here, never through the metric objects:

- :func:`record_ingest` after storing a batch (``source`` is ``api``, ``otlp``, ``webhook``...).
- :func:`record_unreadable` for a stored event a read path had to skip.
- :func:`record_connector_call` for a call a connector makes to a system that is not stored as
  a probe event: the probe call events connectors store (system ``arbiter``) are counted
  already, as they are stored.
- :func:`time_diagnosis` around a diagnosis (the API's diagnosis route and the incident
  evaluator are timed already).
- :func:`register_open_incidents` once, with a callback that returns the open incidents per
  workspace (the incident evaluator registers the store's count); it is called at each
  scrape and the value is exported as a gauge. Call the
  function it returns to unregister (at shutdown). A failing callback is logged and skipped.

Label values come from the configuration (workspaces, systems, routes), never from request
data, and each label keeps at most :data:`MAX_LABEL_VALUES` distinct values; later ones are
folded into ``other``, so a misbehaving caller cannot blow up the series count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("arbiter.metrics")

MAX_LABEL_VALUES = 500
OTHER = "other"

REGISTRY = CollectorRegistry(auto_describe=True)
"""Arbiter's own registry: what ``/metrics`` serves (plus process and platform figures)."""
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)


def _counter(name: str, documentation: str, labels: Sequence[str]) -> Counter:
    """A counter of Arbiter's registry."""
    return Counter(name, documentation, labels, registry=REGISTRY)


def _histogram(name: str, documentation: str, labels: Sequence[str], **options: Any) -> Histogram:
    """A histogram of Arbiter's registry."""
    return Histogram(name, documentation, labels, registry=REGISTRY, **options)


INGESTED = _counter(
    "arbiter_ingest_events",
    "Events received by ingest path and result (accepted, duplicate, rejected).",
    ("workspace", "source", "result"),
)
STORED = _counter(
    "arbiter_events_stored",
    "Events newly stored, whatever path brought them: the ingest rate.",
    ("workspace",),
)
CONNECTOR_CALLS = _counter(
    "arbiter_connector_calls",
    "Calls Arbiter's connectors made to a system, by status class (2xx..5xx, 429, error).",
    ("workspace", "system", "status"),
)
DIAGNOSIS_SECONDS = _histogram(
    "arbiter_diagnosis_duration_seconds",
    "Time to compute a diagnosis.",
    ("source",),
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_REQUESTS = _counter(
    "arbiter_http_requests",
    "HTTP requests answered, by route template and status code.",
    ("method", "route", "status"),
)
HTTP_SECONDS = _histogram(
    "arbiter_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ("method", "route"),
)
UNREADABLE = _counter(
    "arbiter_unreadable_events",
    "Stored events that could not be read back and were skipped (see the service log).",
    ("workspace",),
)
EXPORTED = _counter(
    "arbiter_otlp_export_journeys",
    "Journeys sent as traces to the OTLP endpoint, by result (exported, failed).",
    ("result",),
)


class _BoundedLabels:
    """Keeps each label's distinct values under a cap: later values become ``other``."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def __call__(self, label: str, value: str) -> str:
        with self._lock:
            seen = self._seen.setdefault(label, set())
            if value in seen:
                return value
            if len(seen) >= self._cap:
                return OTHER
            seen.add(value)
            return value


_bounded = _BoundedLabels(MAX_LABEL_VALUES)


def status_class(status: int | str | None) -> str:
    """The label for an HTTP status: ``2xx``..``5xx``, ``429`` kept apart, ``error`` for none.

    >>> [status_class(s) for s in (200, 404, 429, 503, None, "timeout")]
    ['2xx', '4xx', '429', '5xx', 'error', 'error']
    """
    if isinstance(status, str):
        status = int(status) if status.isdigit() else None
    if status is None or not 100 <= status <= 599:
        return "error"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def record_ingest(workspace: str, source: str, *, accepted: int, duplicates: int = 0) -> None:
    """Count a stored batch: ``accepted`` new events and ``duplicates`` already held."""
    ws = _bounded("workspace", workspace)
    src = _bounded("source", source)
    if accepted:
        INGESTED.labels(ws, src, "accepted").inc(accepted)
    if duplicates:
        INGESTED.labels(ws, src, "duplicate").inc(duplicates)


def record_rejected(workspace: str, source: str, rejected: int) -> None:
    """Count items an ingest path could not use (OTLP spans without a flow...)."""
    if rejected:
        ws, src = _bounded("workspace", workspace), _bounded("source", source)
        INGESTED.labels(ws, src, "rejected").inc(rejected)


def record_stored(workspace: str, count: int) -> None:
    if count:
        STORED.labels(_bounded("workspace", workspace)).inc(count)


def record_unreadable(workspace: str) -> None:
    UNREADABLE.labels(_bounded("workspace", workspace)).inc()


def record_connector_call(workspace: str, system: str, status: int | str | None) -> None:
    """Count one call a connector made to ``system``; ``status`` None means no response came."""
    CONNECTOR_CALLS.labels(
        _bounded("workspace", workspace), _bounded("system", system), status_class(status)
    ).inc()


def observe_diagnosis(seconds: float, *, source: str = "api") -> None:
    DIAGNOSIS_SECONDS.labels(_bounded("source", source)).observe(seconds)


@contextmanager
def time_diagnosis(source: str = "evaluator") -> Iterator[None]:
    """Times the block as one diagnosis (also when it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        observe_diagnosis(time.perf_counter() - started, source=source)


def record_http(method: str, route: str, status: int, seconds: float) -> None:
    http_recorder(method, route, status)(seconds)


def http_recorder(method: str, route: str, status: int) -> Callable[[float], None]:
    """:func:`record_http` for one method, route and status, its label children found once
    (for the webhook fast path: the lookups were two thirds of the 3.4 µs a call cost)."""
    verb = method if method in _METHODS else OTHER
    path = _bounded("route", route)
    requests = HTTP_REQUESTS.labels(verb, path, str(status))
    durations = HTTP_SECONDS.labels(verb, path)

    def record(seconds: float) -> None:
        requests.inc()
        durations.observe(seconds)

    return record


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

OpenIncidents = Callable[[], Mapping[str, int]]
"""Returns the number of open incidents per workspace."""


class _OpenIncidentsCollector(Collector):
    def __init__(self) -> None:
        self._callbacks: list[OpenIncidents] = []
        self._lock = threading.Lock()

    def register(self, callback: OpenIncidents) -> Callable[[], None]:
        with self._lock:
            self._callbacks.append(callback)

        def unregister() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return unregister

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "arbiter_open_incidents", "Incidents open now, per workspace.", labels=["workspace"]
        )
        totals: dict[str, int] = {}
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                counts = callback()
            except Exception:  # a scrape must still answer when one source fails
                log.exception("open incidents callback %r failed", callback)
                continue
            for workspace, count in counts.items():
                label = _bounded("workspace", workspace)
                totals[label] = totals.get(label, 0) + count
        for workspace, count in sorted(totals.items()):
            family.add_metric([workspace], count)
        yield family


_open_incidents = _OpenIncidentsCollector()
REGISTRY.register(_open_incidents)


def register_open_incidents(callback: OpenIncidents) -> Callable[[], None]:
    """Have ``arbiter_open_incidents`` read ``callback()`` at each scrape; returns unregister."""
    return _open_incidents.register(callback)


def exposition() -> tuple[bytes, str]:
    """The body and content type of ``GET /metrics``."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
