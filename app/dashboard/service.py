"""Page data for the dashboard: the same index and store the REST API answers from.

Every function here returns a plain view model and never raises for a workspace that is empty,
has no topology yet, or whose diagnosis fails: the page shows a friendly state instead. A
failure of the diagnostics path is logged and reported on the page, never answered with a 500.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from app.connections.tables import connections
from app.dashboard.layout import EdgeGeometry, FlowLayout, NodeBox, layout_flows
from app.i18n import N_, gettext, ngettext
from app.i18n.formatting import percent
from app.i18n.vocabulary import term
from app.runtime import Runtime
from app.topology.service import get_topology
from app.workspaces.service import Workspace, get_workspace, list_workspaces
from graph.model import Topology
from graph.results import LinkHealth, StockDrift, Suspect

log = logging.getLogger("arbiter.dashboard")

STATUS_WORDS = {
    "healthy": N_("Healthy"),
    "degraded": N_("Degraded"),
    "failed": N_("Failed"),
    "blocked": N_("Blocked"),
    "no_data": N_("No data"),
}
MODE_WORDS = {
    "missing": N_("never sent"),
    "rejected": N_("rejected (4xx)"),
    "rate_limited": N_("rate limited (429)"),
    "unavailable": N_("unavailable (5xx / timeout)"),
    "lost": N_("accepted, then lost"),
    "late": N_("late"),
    "mismatch": N_("data mismatch"),
    "down": N_("system down"),
}


@dataclass(frozen=True)
class Scope:
    """What a page looks at: the workspace, the moment, and the window before it."""

    workspace: Workspace
    topology: Topology | None
    as_of: datetime
    window_seconds: float
    live: bool
    """True when ``as_of`` is "now" (the page refreshes itself); False for a replayed moment."""

    @property
    def window_start(self) -> datetime:
        """The earliest moment the page looks at (the diagnosis index must reach it)."""
        return self.as_of - timedelta(seconds=self.window_seconds)


def load_scope(
    runtime: Runtime, workspace_id: str, as_of: datetime, window_seconds: float, *, live: bool
) -> Scope | None:
    with runtime.engine.connect() as connection:
        workspace = get_workspace(connection, workspace_id)
        if workspace is None:
            return None
        topology = get_topology(connection, workspace_id)
    return Scope(workspace, topology, as_of, window_seconds, live)


def workspaces(runtime: Runtime) -> list[Workspace]:
    with runtime.engine.connect() as connection:
        return list_workspaces(connection)


# -- overview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeView:
    geometry: EdgeGeometry
    status: str
    mode: str | None
    responsible: str | None
    lines: list[tuple[str, str | None]]
    """Label lines: (text, ISO time to show in the browser's zone after the text, or None)."""
    suspect_path: str | None

    @property
    def key(self) -> str:
        link = self.geometry.link
        return f"{link.flow}:{link.from_}:{link.to}"


@dataclass(frozen=True)
class FlowView:
    layout: FlowLayout
    nodes: list[tuple[NodeBox, str | None]]
    """Each system with the mode it is blamed for itself (``down``), if any."""
    edges: list[EdgeView]


@dataclass
class Overview:
    scope: Scope
    flows: list[FlowView] = field(default_factory=list)
    health: list[LinkHealth] = field(default_factory=list)
    suspects: list[Suspect] = field(default_factory=list)
    drift: int = 0
    oversell: int = 0
    events: int = 0
    connectors: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


def suspect_path(suspect: Suspect) -> str:
    """The suspect's address under ``/w/{ws}/suspects/``: stable while the suspect persists."""
    if suspect.link is None:
        return f"down/{suspect.system}"
    link = suspect.link
    return f"{link.flow}/{link.from_}/{link.to}/{suspect.mode}"


def _edge_lines(health: LinkHealth | None) -> list[tuple[str, str | None]]:
    if health is None:
        return [(gettext("No data"), None)]
    lines: list[tuple[str, str | None]] = []
    head = gettext(STATUS_WORDS[health.status])
    if health.mode:
        head += f": {term(health.mode)}"
    lines.append((head, None))
    if health.responsible and health.status in ("failed", "degraded"):
        lines.append((gettext("Responsible: %(who)s") % {"who": health.responsible}, None))
    counts = health.entities
    parts = []
    if counts.failed:
        parts.append(gettext("%(count)d stuck") % {"count": counts.failed})
    if counts.blocked:
        parts.append(gettext("%(count)d blocked") % {"count": counts.blocked})
    if counts.pending:
        parts.append(gettext("%(count)d pending") % {"count": counts.pending})
    parts.append(gettext("%(count)d ok") % {"count": counts.ok})
    lines.append((" · ".join(parts), None))
    if health.calls:
        rate = health.call_error_rate or 0.0
        text = ngettext(
            "errors %(rate)s of %(count)d call", "errors %(rate)s of %(count)d calls", health.calls
        )
        lines.append((text % {"rate": percent(rate), "count": health.calls}, None))
    if health.last_success is not None:
        lines.append((gettext("last ok") + " ", health.last_success.isoformat()))
    else:
        lines.append((gettext("no transfer yet"), None))
    return lines


def flow_views(
    topology: Topology, health: Iterable[LinkHealth], suspects: list[Suspect]
) -> list[FlowView]:
    by_link = {(h.link.flow, h.link.from_, h.link.to): h for h in health}
    suspect_of_link: dict[tuple[str, str, str], Suspect] = {}
    down: dict[str, Suspect] = {}
    for suspect in suspects:
        if suspect.link is None and suspect.system is not None:
            down.setdefault(suspect.system, suspect)
        refs = [suspect.link] if suspect.link is not None else suspect.links
        for ref in refs:
            suspect_of_link.setdefault((ref.flow, ref.from_, ref.to), suspect)
    views: list[FlowView] = []
    for layout in layout_flows(topology):
        edges = []
        for geometry in layout.edges:
            key = (geometry.link.flow, geometry.link.from_, geometry.link.to)
            found = by_link.get(key)
            blamed = suspect_of_link.get(key)
            edges.append(
                EdgeView(
                    geometry=geometry,
                    status=found.status if found else "no_data",
                    mode=found.mode if found else None,
                    responsible=found.responsible if found else None,
                    lines=_edge_lines(found),
                    suspect_path=suspect_path(blamed) if blamed else None,
                )
            )
        nodes = [(node, "down" if node.id in down else None) for node in layout.nodes]
        views.append(FlowView(layout, nodes, edges))
    return views


def overview(runtime: Runtime, scope: Scope) -> Overview:
    page = Overview(scope, connectors=connector_rows(runtime, scope.workspace.id, scope.topology))
    if scope.topology is None:
        return page
    topology = scope.topology
    try:
        index, lock = runtime.indexes.index(scope.workspace.id, since=scope.window_start)
        with lock:
            page.events = len(index)
            diagnosis = index.diagnose(
                topology, as_of=scope.as_of, window_seconds=scope.window_seconds
            )
            page.health = index.link_health(
                topology, as_of=scope.as_of, window_seconds=scope.window_seconds
            )
            drift = index.stock_drift(topology, as_of=scope.as_of)
    except Exception as exc:  # the page reports a failed diagnosis; the service stays up
        log.exception("dashboard overview of %s failed", scope.workspace.id)
        page.problem = gettext("The diagnosis could not be computed (%(error)s).") % {
            "error": type(exc).__name__
        }
        page.flows = flow_views(topology, [], [])
        return page
    page.suspects = diagnosis.suspects
    page.drift = len(drift)
    page.oversell = sum(1 for d in drift if d.oversell_risk)
    page.flows = flow_views(topology, page.health, page.suspects)
    return page


def stock(runtime: Runtime, scope: Scope) -> tuple[list[StockDrift], list[str], str | None]:
    """The drifting items (oversell risk first), the systems to show as columns, a problem."""
    if scope.topology is None:
        return [], [], None
    try:
        index, lock = runtime.indexes.index(scope.workspace.id)
        with lock:
            drift = index.stock_drift(scope.topology, as_of=scope.as_of)
    except Exception as exc:
        log.exception("dashboard stock page of %s failed", scope.workspace.id)
        problem = gettext("The stock comparison could not be computed (%(error)s).")
        return [], [], problem % {"error": type(exc).__name__}
    shown = {q.system for d in drift for q in d.quantities}
    columns = [s.id for s in scope.topology.systems if s.id in shown]
    columns += sorted(shown - set(columns))
    return drift, columns, None


# -- connectors -------------------------------------------------------------------------------


def connector_rows(
    runtime: Runtime, workspace_id: str, topology: Topology | None
) -> list[dict[str, Any]]:
    """Each configured connection with its pollers' health, read from the connections table.

    Only the non-secret columns are read: the status JSON the pollers write after each poll
    (last poll, last success, last error, rate-limit headroom) and whether the system is polled.
    """
    try:
        with runtime.engine.connect() as connection:
            rows = connection.execute(
                select(
                    connections.c.system_id,
                    connections.c.base_url,
                    connections.c.poll_interval_seconds,
                    connections.c.status,
                )
                .where(connections.c.workspace_id == workspace_id)
                .order_by(connections.c.system_id)
            ).all()
    except Exception:  # the panel is optional; the overview must render without it
        log.exception("reading connections of %s failed", workspace_id)
        return []
    found = []
    for row in rows:
        try:
            status = json.loads(row.status) if row.status else {}
        except ValueError:
            status = {}
        spec = topology.system(row.system_id) if topology else None
        found.append(_connector_row(row.system_id, spec.kind if spec else "", row.base_url, status))
    return found


def _connector_row(
    system: str, kind: str, base_url: str | None, status: dict[str, Any]
) -> dict[str, Any]:
    limit = status.get("rate_limit") or {}
    headroom = None
    if isinstance(limit, dict) and limit.get("remaining") is not None:
        counts = {"remaining": limit["remaining"], "limit": limit.get("limit")}
        left = gettext("%(remaining)s of %(limit)s left") if limit.get("limit") else None
        headroom = (left or gettext("%(remaining)s left")) % counts
    error = status.get("last_error")
    if not base_url:
        state = "webhooks only"
    elif error:
        state = "failing"
    elif status.get("last_success_at"):
        state = "ok"
    else:
        state = "not polled yet"
    return {
        "system": system,
        "kind": kind,
        "status": state,
        "detail": str(error) if error else "",
        "last": status.get("last_success_at") or status.get("last_poll_at"),
        "headroom": headroom,
    }
