"""Trace search and the waterfall view of one entity's journey across systems.

Search tries the identifier in every namespace (each system's own ids, ``sku``, and whatever
namespaces the stored events use for that value), so a user can paste an order number, an OMS
id or an ERP document without saying which it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app.dashboard.service import MODE_WORDS, Scope
from app.db.tables import event_refs
from app.i18n import gettext
from app.i18n.texts import said
from app.i18n.vocabulary import term
from app.runtime import Runtime
from graph.results import EntityRef, Trace, TraceHop

log = logging.getLogger("arbiter.dashboard")

MAX_QUERY = 200
SHARED_NAMESPACES = ("sku",)


def _namespaces(runtime: Runtime, scope: Scope, value: str) -> list[str]:
    known = [s.id for s in scope.topology.systems] if scope.topology else []
    known += [ns for ns in SHARED_NAMESPACES if ns not in known]
    with runtime.engine.connect() as connection:
        stored = connection.execute(
            select(event_refs.c.namespace)
            .where(event_refs.c.workspace_id == scope.workspace.id, event_refs.c.value == value)
            .distinct()
            .limit(20)
        ).scalars()
        extra = sorted(set(stored) - set(known))
    return known + extra


def search(runtime: Runtime, scope: Scope, query: str) -> list[EntityRef]:
    """Every distinct entity that an identifier names, in any namespace.

    ``ns:value`` picks one namespace when ``ns`` is one; two namespaces naming the same
    entity (an OMS id and the shop number it carries) count once.
    """
    value = query.strip()[:MAX_QUERY]
    if not value or scope.topology is None:
        return []
    candidates = [(ns, value) for ns in _namespaces(runtime, scope, value)]
    namespace, sep, rest = value.partition(":")
    if sep and rest:
        candidates.insert(0, (namespace, rest))
    found: list[EntityRef] = []
    seen: list[dict[str, list[str]]] = []
    index, lock = runtime.indexes.index(scope.workspace.id)
    with lock:
        for ns, ref in candidates:
            trace = index.trace(scope.topology, ns, ref, as_of=scope.as_of)
            if trace is None or trace.refs in seen:
                continue
            seen.append(trace.refs)
            found.append(EntityRef(namespace=ns, value=ref))
    return found


@dataclass(frozen=True)
class Bar:
    """A span of the waterfall as fractions of its width (0..1000 SVG units)."""

    x: float
    width: float
    open_ended: bool = False


@dataclass(frozen=True)
class Row:
    kind: str  # "event" or "hop"
    time: datetime | None
    title: str
    status: str
    detail: str
    bar: Bar | None
    hop: TraceHop | None = None
    event: dict[str, Any] | None = None
    failure: bool = False
    systems: tuple[str, ...] = ()


@dataclass
class TraceView:
    trace: Trace
    rows: list[Row] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _event_row(event: dict[str, Any]) -> tuple[str, str, str]:
    system = str(event.get("system", "?"))
    if event.get("kind") == "call":
        outcome = event.get("outcome") or {}
        status = outcome.get("status")
        ok = isinstance(status, int) and 200 <= status < 300
        answer = str(status) if status is not None else gettext("no response")
        error = outcome.get("error")
        detail = answer + (f" — {error}" if error else "")
        if outcome.get("duration_ms") is not None:
            detail += f" ({float(outcome['duration_ms']):.0f} ms)"
        called = gettext("%(caller)s called %(target)s")
        title = called % {"caller": system, "target": event.get("target", "?")}
        return title, "ok" if ok else "error", detail
    parts = []
    if event.get("state"):
        parts.append(gettext("state %(state)s") % {"state": event["state"]})
    if event.get("quantity") is not None:
        parts.append(gettext("quantity %(quantity)s") % {"quantity": event["quantity"]})
    data = event.get("data")
    if isinstance(data, dict) and data:
        parts.append(", ".join(f"{k} {v}" for k, v in list(data.items())[:4]))
    return gettext("seen in %(system)s") % {"system": system}, "seen", " · ".join(parts)


def _hop_detail(hop: TraceHop) -> str:
    parts = []
    if hop.mode:
        parts.append(gettext(MODE_WORDS.get(hop.mode, hop.mode)))
    if hop.responsible:
        parts.append(gettext("responsible: %(who)s") % {"who": hop.responsible})
    if hop.detail:
        parts.append(said(hop.detail_text, hop.detail))
    if hop.quantities:
        quantities = {"from": hop.quantities.get("from"), "to": hop.quantities.get("to")}
        parts.append(gettext("quantities %(from)s → %(to)s") % quantities)
    if hop.status == "blocked":
        parts.append(gettext("never reached: an upstream hop failed"))
    return " · ".join(parts)


def waterfall(trace: Trace) -> TraceView:
    """Rows in time order, one per event and per hop, with their bars on a shared axis."""
    events = [(e, _time(e.get("time"))) for e in trace.events]
    moments = [t for _, t in events if t is not None]
    for hop in trace.hops:
        moments += [t for t in (hop.entered, hop.arrived, hop.deadline) if t is not None]
    view = TraceView(trace)
    if not moments:
        return view
    start, end = min(moments), max(moments)
    span = max((end - start).total_seconds(), 1.0)
    view.start, view.end = start, end

    def at(moment: datetime) -> float:
        return 1000 * (moment - start).total_seconds() / span

    rows: list[tuple[float, int, Row]] = []
    for order, (event, moment) in enumerate(events):
        title, status, detail = _event_row(event)
        bar = Bar(min(at(moment), 994), 6) if moment is not None else None
        systems = tuple(str(s) for s in (event.get("system"), event.get("target")) if s)
        row = Row("event", moment, title, status, detail, bar, event=event, systems=systems)
        rows.append(((moment or end).timestamp(), order, row))
    failure = trace.failure
    for order, hop in enumerate(trace.hops):
        title = f"{term(hop.flow)}: {hop.link.from_} → {hop.link.to}"
        bar = None
        if hop.entered is not None:
            finish = hop.arrived or end
            x = at(hop.entered)
            bar = Bar(x, max(at(finish) - x, 4), open_ended=hop.arrived is None)
        is_failure = failure is not None and hop == failure
        row = Row(
            "hop",
            hop.entered,
            title,
            hop.status,
            _hop_detail(hop),
            bar,
            hop=hop,
            failure=is_failure,
            systems=(hop.link.from_, hop.link.to),
        )
        # Blocked hops were never entered: they follow everything else.
        when = hop.entered.timestamp() if hop.entered else float("inf")
        rows.append((when, len(events) + order, row))
    rows.sort(key=lambda item: (item[0], item[1]))
    view.rows = [row for _, _, row in rows]
    return view


def trace_view(runtime: Runtime, scope: Scope, namespace: str, value: str) -> TraceView | None:
    if scope.topology is None:
        return None
    # The registry's trace: an entity outside the live index is traced from the store.
    trace = runtime.indexes.trace(scope.workspace.id, namespace, value, scope.as_of)
    return None if trace is None else waterfall(trace)
