"""CLIENT spans of integration middleware → ``call`` events, by rules the settings tune.

A span becomes one call event:

- caller: the resource's ``service.name``; target: ``peer.service``, else ``server.address``
  (legacy ``net.peer.name``); each mapped to a topology system id through
  ``otlp_system_aliases``, else taken when it equals a system id (ignoring case);
- flow: the span attribute ``arbiter.flow``, else the ``otlp_flow_rules`` entry for
  ``caller->target`` (``caller->*``, ``*->target``), else the only flow with a link whose
  calls go from caller to target;
- outcome: ``http.response.status_code`` (legacy ``http.status_code``); none with an ERROR span
  status means no response came (status null); duration from start and end; error from the
  status message, else the ``exception`` event, else ``error.type``;
- refs: attributes ``arbiter.ref.<namespace>`` plus those named in ``otlp_ref_attributes``;
- id: ``otlp-<trace id>-<span id>``, so a span sent twice is a duplicate, not a second call.

A span that cannot be used is rejected with a reason; the rest of its request still counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status
from pydantic import ValidationError

from app.settings import Settings
from graph.model import Event, Topology

FLOW_ATTRIBUTE = "arbiter.flow"
REF_PREFIX = "arbiter.ref."
_STATUS_ATTRIBUTES = ("http.response.status_code", "http.status_code")
_TARGET_ATTRIBUTES = ("peer.service", "server.address", "net.peer.name")
_METHOD_ATTRIBUTES = ("http.request.method", "http.method")
_MAX_ERROR = 4000


@dataclass(frozen=True)
class SpanRules:
    """How spans name systems, flows and entities; built from the settings."""

    aliases: Mapping[str, str] = field(default_factory=dict)
    flow_rules: Mapping[str, str] = field(default_factory=dict)
    ref_attributes: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> SpanRules:
        return cls(
            aliases=settings.otlp.system_aliases,
            flow_rules=settings.otlp.flow_rules,
            ref_attributes=settings.otlp.ref_attributes,
        )


@dataclass
class Conversion:
    events: list[Event] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)

    def reject(self, reason: str, example: str) -> None:
        self.rejected[reason] += 1
        self.examples.setdefault(reason, example)

    @property
    def rejected_count(self) -> int:
        return sum(self.rejected.values())

    def message(self) -> str:
        """One line per reason, most frequent first, with the first span it hit."""
        return "; ".join(
            f"{count} {reason} (e.g. {self.examples[reason]})"
            for reason, count in self.rejected.most_common()
        )


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def convert(request: ExportTraceServiceRequest, topology: Topology, rules: SpanRules) -> Conversion:
    """Every usable CLIENT span of ``request`` as a call event; the others counted by reason."""
    resolver = _Resolver(topology, rules)
    result = Conversion()
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        service = resource.get("service.name")
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                label = f"span {span.span_id.hex() or '?'} '{span.name[:80]}'"
                try:
                    result.events.append(resolver.event(span, service))
                except _Rejected as exc:
                    result.reject(exc.reason, f"{label}: {exc.detail}")
    return result


class _Resolver:
    def __init__(self, topology: Topology, rules: SpanRules) -> None:
        self.rules = rules
        self.systems = {s.id for s in topology.systems}
        self.by_lower = {s.id.lower(): s.id for s in topology.systems}
        self.flows = set(topology.flows)
        self.link_flows: dict[tuple[str, str], set[str]] = {}
        for link in topology.links:
            self.link_flows.setdefault((link.caller, link.callee), set()).add(link.flow)

    def system(self, name: str) -> str | None:
        alias = self.rules.aliases.get(name)
        if alias is not None:
            return alias if alias in self.systems else None
        if name in self.systems:
            return name
        return self.by_lower.get(name.lower())

    def event(self, span: Span, service: Any) -> Event:
        if span.kind != Span.SPAN_KIND_CLIENT:
            kind = Span.SpanKind.Name(span.kind) if span.kind in Span.SpanKind.values() else "?"
            raise _Rejected("spans not of kind CLIENT", kind)
        if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.span_id):
            raise _Rejected("spans with an invalid trace or span id", "ids must be 16 and 8 bytes")
        attrs = attributes(span.attributes)
        caller = self._caller(service)
        target = self._target(attrs)
        if caller == target:
            raise _Rejected("spans whose target is their caller", caller)
        flow = self._flow(attrs, caller, target)
        if span.start_time_unix_nano == 0 or span.end_time_unix_nano < span.start_time_unix_nano:
            raise _Rejected("spans without a valid start and end time", "")
        status, error = _outcome(span, attrs)
        item: dict[str, Any] = {
            "id": f"otlp-{span.trace_id.hex()}-{span.span_id.hex()}",
            "time": datetime.fromtimestamp(span.start_time_unix_nano / 1e9, UTC),
            "flow": flow,
            "kind": "call",
            "system": caller,
            "target": target,
            "refs": self._refs(attrs, caller, target),
            "outcome": {
                "status": status,
                "duration_ms": (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
                "error": error,
            },
        }
        method = _first_text(attrs, _METHOD_ATTRIBUTES)
        if method:
            item["data"] = {"http.request.method": method.upper()[:20]}
        try:
            return Event.model_validate(item)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise _Rejected("spans that make no valid event", f"{where}: {first['msg']}") from exc

    def _caller(self, service: Any) -> str:
        if not isinstance(service, str) or not service:
            raise _Rejected("spans without a resource service.name", "no service.name")
        caller = self.system(service)
        if caller is None:
            raise _Rejected(
                "spans from a service that is no system of the topology",
                f"service.name '{service}'; map it in ARBITER_OTLP_SYSTEM_ALIASES",
            )
        return caller

    def _target(self, attrs: Mapping[str, Any]) -> str:
        names = [attrs[key] for key in _TARGET_ATTRIBUTES if isinstance(attrs.get(key), str)]
        if not names:
            raise _Rejected("spans without peer.service or server.address", "no target")
        for name in names:
            target = self.system(name)
            if target is not None:
                return target
        raise _Rejected(
            "spans calling a service that is no system of the topology",
            f"'{names[0]}'; map it in ARBITER_OTLP_SYSTEM_ALIASES",
        )

    def _flow(self, attrs: Mapping[str, Any], caller: str, target: str) -> str:
        named = attrs.get(FLOW_ATTRIBUTE)
        if named is not None:
            if named in self.flows:
                return str(named)
            raise _Rejected("spans naming an unknown flow", f"{FLOW_ATTRIBUTE}='{named}'")
        for key in (f"{caller}->{target}", f"{caller}->*", f"*->{target}"):
            ruled = self.rules.flow_rules.get(key)
            if ruled is not None:
                if ruled in self.flows:
                    return ruled
                raise _Rejected("spans whose flow rule names an unknown flow", f"{key}: {ruled}")
        flows = sorted(self.link_flows.get((caller, target), set()))
        if len(flows) == 1:
            return flows[0]
        if not flows:
            raise _Rejected(
                "spans between systems no link joins",
                f"{caller}->{target}: set {FLOW_ATTRIBUTE} or ARBITER_OTLP_FLOW_RULES",
            )
        raise _Rejected(
            "spans whose flow is ambiguous",
            f"{caller}->{target} carries {', '.join(flows)}: set {FLOW_ATTRIBUTE} "
            "or ARBITER_OTLP_FLOW_RULES",
        )

    def _refs(self, attrs: Mapping[str, Any], caller: str, target: str) -> dict[str, str]:
        refs: dict[str, str] = {}
        for key, value in attrs.items():
            if key.startswith(REF_PREFIX) and len(key) > len(REF_PREFIX):
                text = _scalar_text(value)
                if text:
                    refs[key[len(REF_PREFIX) :]] = text
        for key, namespace in self.rules.ref_attributes.items():
            text = _scalar_text(attrs.get(key))
            if text:
                resolved = namespace.replace("{caller}", caller).replace("{target}", target)
                refs.setdefault(resolved, text)
        return refs


def _outcome(span: Span, attrs: Mapping[str, Any]) -> tuple[int | None, str | None]:
    status: int | None = None
    for key in _STATUS_ATTRIBUTES:
        value = attrs.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            status = value
        elif isinstance(value, str) and value.strip().isdigit():
            status = int(value)
        if status is not None:
            break
    failed = span.status.code == Status.STATUS_CODE_ERROR
    if status is None and not failed:
        raise _Rejected(
            "spans without http.response.status_code that did not fail",
            "no HTTP status and span status not ERROR",
        )
    return status, _error(span, attrs) if failed or status is None or status >= 400 else None


def _error(span: Span, attrs: Mapping[str, Any]) -> str | None:
    if span.status.message:
        return span.status.message[:_MAX_ERROR]
    for event in span.events:
        if event.name == "exception":
            exc = attributes(event.attributes)
            text = ": ".join(
                str(exc[k]) for k in ("exception.type", "exception.message") if exc.get(k)
            )
            if text:
                return text[:_MAX_ERROR]
    error_type = attrs.get("error.type")
    return str(error_type)[:_MAX_ERROR] if error_type else None


def _first_text(attrs: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = attrs.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int):
        return str(value)[:200] if str(value) else None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def attributes(items: Iterable[KeyValue]) -> dict[str, Any]:
    """OTLP key-values as plain Python values (arrays as lists, kvlists as dicts)."""
    return {item.key: _value(item.value) for item in items}


def _value(value: AnyValue) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, which)


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[Span]:
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            yield from scope_spans.spans
