"""The flow graph, laid out server-side: one left-to-right layered drawing per flow.

A flow is a small DAG, so a longest-path layering (each system one column right of its furthest
upstream system) with a barycentre pass to order each column is all the layout it needs. The
result is geometry only; the template turns it into inline SVG.

>>> from graph.model import Topology
>>> topo = Topology.model_validate({
...     "systems": [{"id": "shop", "kind": "woocommerce", "vendor": "Agency"},
...                 {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"}],
...     "links": [{"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
...                "owner": "BaseLinker", "sla_seconds": 600}]})
>>> [(n.id, n.layer) for n in layout_flow(topo, "order").nodes]
[('shop', 0), ('oms', 1)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graph.model import Link, Topology

NODE_WIDTH = 156
NODE_HEIGHT = 72
COLUMN_GAP = 226
LABEL_WIDTH = 188
"""Room between two columns for an edge's label."""
ROW_GAP = 96
MARGIN = 12


@dataclass(frozen=True)
class NodeBox:
    id: str
    kind: str
    vendor: str
    layer: int
    x: float
    y: float
    width: float = NODE_WIDTH
    height: float = NODE_HEIGHT


@dataclass(frozen=True)
class EdgeGeometry:
    link: Link
    path: str
    label_x: float
    label_y: float
    start: tuple[float, float]
    end: tuple[float, float]


@dataclass
class FlowLayout:
    flow: str
    width: float
    height: float
    nodes: list[NodeBox] = field(default_factory=list)
    edges: list[EdgeGeometry] = field(default_factory=list)


def _layers(systems: list[str], links: list[Link]) -> dict[str, int]:
    """Longest-path layering: a system sits one column right of its furthest upstream system."""
    layer = dict.fromkeys(systems, 0)
    # A DAG of n systems settles in at most n rounds; the topology validator guarantees a DAG.
    for _ in range(len(systems)):
        changed = False
        for link in links:
            if layer[link.to] < layer[link.from_] + 1:
                layer[link.to] = layer[link.from_] + 1
                changed = True
        if not changed:
            break
    return layer


def _order_columns(layer: dict[str, int], systems: list[str], links: list[Link]) -> list[list[str]]:
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for system in systems:
        columns[layer[system]].append(system)
    # One barycentre sweep left to right: place each system near the systems feeding it.
    for index in range(1, len(columns)):
        previous = {s: i for i, s in enumerate(columns[index - 1])}
        original = {s: i for i, s in enumerate(columns[index])}
        weights: dict[str, float] = {}
        for system in columns[index]:
            feeders = [
                previous[ln.from_] for ln in links if ln.to == system and ln.from_ in previous
            ]
            weights[system] = sum(feeders) / len(feeders) if feeders else float(original[system])
        columns[index].sort(key=lambda s: (weights[s], original[s]))
    return columns


def layout_flow(topology: Topology, flow: str) -> FlowLayout:
    """Positions of the systems and edges of one flow, in SVG user units."""
    links = [link for link in topology.links if link.flow == flow]
    involved = {link.from_ for link in links} | {link.to for link in links}
    systems = [s.id for s in topology.systems if s.id in involved]
    layer = _layers(systems, links)
    columns = _order_columns(layer, systems, links)
    rows = max((len(c) for c in columns), default=1)
    full_height = rows * NODE_HEIGHT + (rows - 1) * ROW_GAP
    boxes: dict[str, NodeBox] = {}
    for col, members in enumerate(columns):
        used = len(members) * NODE_HEIGHT + (len(members) - 1) * ROW_GAP
        top = MARGIN + (full_height - used) / 2
        for row, system_id in enumerate(members):
            spec = topology.system(system_id)
            boxes[system_id] = NodeBox(
                id=system_id,
                kind=spec.kind if spec else "unknown",
                vendor=spec.vendor if spec else "",
                layer=col,
                x=MARGIN + col * (NODE_WIDTH + COLUMN_GAP),
                y=top + row * (NODE_HEIGHT + ROW_GAP),
            )
    layout = FlowLayout(
        flow=flow,
        width=2 * MARGIN + len(columns) * NODE_WIDTH + max(len(columns) - 1, 0) * COLUMN_GAP,
        height=2 * MARGIN + full_height,
        nodes=[boxes[s] for s in systems],
    )
    for link in links:
        layout.edges.append(_edge(link, boxes[link.from_], boxes[link.to]))
    return layout


def _edge(link: Link, source: NodeBox, target: NodeBox) -> EdgeGeometry:
    x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x - 6, target.y + target.height / 2  # leave room for the arrowhead
    middle = (x1 + x2) / 2
    span = target.layer - source.layer
    # An edge skipping columns arcs above the systems it would otherwise cross.
    lift = 0.0 if span <= 1 else -(NODE_HEIGHT / 2 + ROW_GAP / 2)
    path = (
        f"M{x1:.1f},{y1:.1f} C{middle:.1f},{y1 + lift:.1f} "
        f"{middle:.1f},{y2 + lift:.1f} {x2:.1f},{y2:.1f}"
    )
    # A long edge's label sits between its source and the next column, where no system is.
    label_x = x1 + (x2 - x1) / 2 if span <= 1 else x1 + COLUMN_GAP / 2
    label_y = (y1 + y2) / 2 + 0.75 * lift
    return EdgeGeometry(link, path, label_x, label_y, (x1, y1), (x2, y2))


def layout_flows(topology: Topology) -> list[FlowLayout]:
    return [layout_flow(topology, flow) for flow in topology.flows]
