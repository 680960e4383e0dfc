"""One journey as OTLP spans: a root, a span per hop, a CLIENT span per call.

::

    journey shop:100045                       (service arbiter-journeys; ERROR when a hop failed)
     ├── order shop→oms                       one span per hop: status, mode, responsible,
     │    └── GET shop                        owner, SLA; a CLIENT span per call, from the
     └── order oms→erp                        caller's service to the target (peer.service),
          └── POST erp                        with the HTTP semantic conventions

The trace id is derived from the workspace and the id the journey's entry system gave the
entity (:func:`journey_key`), so a journey always lands in the same trace, whichever process
exports it and however many ids later systems add; span ids are derived from the trace id and
the hop or event. Spans are built after the fact, with the times the events carry, so they are
assembled as SDK ``ReadableSpan`` objects rather than recorded through a live tracer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from graph.model import Link, Topology
from graph.results import CallEvidence, Trace, TraceHop

JOURNEY_SERVICE = "arbiter-journeys"
MAX_CALLS_PER_HOP = 100
_SCOPE = InstrumentationScope("arbiter.journeys", "1")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


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
