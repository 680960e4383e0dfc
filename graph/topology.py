"""The topology as a graph: which links each flow has and which link a call belongs to.

>>> from graph.model import Topology
>>> topo = Topology.model_validate({
...     "systems": [{"id": "shop", "kind": "woocommerce", "vendor": "Agency"},
...                 {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"}],
...     "links": [{"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
...                "owner": "BaseLinker", "sla_seconds": 600}]})
>>> link_for_call(topo, "order", caller="oms", target="shop").name
'order shop→oms'
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from graph.model import ARBITER_SYSTEM, Link, Topology


def topology_problems(topology: Topology) -> list[str]:
    """Every reason the topology cannot be used, each naming the system or link at fault."""
    problems: list[str] = []
    ids = [s.id for s in topology.systems]
    seen: set[str] = set()
    for system_id in ids:
        if system_id == ARBITER_SYSTEM:
            problems.append(f"systems: '{ARBITER_SYSTEM}' is reserved for Arbiter's own probes")
        if system_id in seen:
            problems.append(f"systems: '{system_id}' is declared twice")
        seen.add(system_id)
    link_keys: set[tuple[str, str, str]] = set()
    for index, link in enumerate(topology.links):
        where = f"links[{index}] ({link.name})"
        for end in (link.from_, link.to):
            if end not in seen:
                problems.append(f"{where}: unknown system '{end}'")
        if link.from_ == link.to:
            problems.append(f"{where}: a link joins two different systems")
        key = (link.flow, link.from_, link.to)
        if key in link_keys:
            problems.append(f"{where}: declared twice")
        link_keys.add(key)
    if problems:
        return problems
    for flow in topology.flows:
        cycle = flow_cycle(topology.links, flow)
        if cycle:
            closing = cycle[-1]
            path = "→".join([cycle[0].from_, *(link.to for link in cycle)])
            index = topology.links.index(closing)
            problems.append(
                f"links[{index}] ({closing.name}): closes a cycle in flow '{flow}': {path}"
            )
    return problems


def flow_cycle(links: Iterable[Link], flow: str) -> list[Link]:
    """The links of one cycle in ``flow`` (in order, the last one closing it), or []."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    for link in links:
        if link.flow == flow:
            graph.add_edge(link.from_, link.to, link=link)
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return []
    return [graph.edges[u, v]["link"] for u, v in edges]


def flow_graph(topology: Topology) -> nx.MultiDiGraph[str]:
    """All flows in one ``MultiDiGraph``: systems are nodes, each link an edge keyed by flow."""
    graph: nx.MultiDiGraph[str] = nx.MultiDiGraph()
    for system in topology.systems:
        graph.add_node(system.id, kind=system.kind, vendor=system.vendor)
    for link in topology.links:
        graph.add_edge(link.from_, link.to, key=link.flow, link=link)
    return graph


def link_for_call(topology: Topology, flow: str, *, caller: str, target: str) -> Link | None:
    """The link of ``flow`` whose data a call from ``caller`` to ``target`` carries.

    A push link (``initiator: from``) is called by its ``from``; a pull link by its ``to``.
    """
    for link in topology.links:
        if link.flow == flow and link.caller == caller and link.callee == target:
            return link
    return None
