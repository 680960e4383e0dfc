"""A topology compiled for fast verdicts: per flow, its systems in order and its links by call.

Verdicts run once per journey, hundreds of thousands of times per diagnosis, so they look links
up in plain dicts built here once per topology instead of walking the pydantic models.

>>> from graph.model import Topology
>>> plan = compile_plan(Topology.model_validate({
...     "systems": [{"id": "shop", "kind": "woocommerce", "vendor": "Agency"},
...                 {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"}],
...     "links": [{"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
...                "owner": "BaseLinker", "sla_seconds": 600}]}))
>>> plan.flows["order"].order
('shop', 'oms')
>>> plan.link_by_call[("order", "oms", "shop")]
0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import networkx as nx

from graph.model import Link, Topology
from graph.states import StateRules, state_rules


@dataclass(frozen=True, slots=True)
class FlowPlan:
    """One flow: its systems in topological order, their out-links and their ancestors."""

    name: str
    order: tuple[str, ...]
    out_links: dict[str, tuple[int, ...]]
    ancestors: dict[str, frozenset[str]]
    sources: tuple[str, ...]
    sinks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    topology: Topology
    key: str
    links: tuple[Link, ...]
    flows: dict[str, FlowPlan]
    link_by_call: dict[tuple[str, str, str], int]
    vendor: dict[str, str]
    links_into: dict[str, tuple[int, ...]] = field(default_factory=dict)
    links_out_of: dict[str, tuple[int, ...]] = field(default_factory=dict)
    states: dict[str, StateRules] = field(default_factory=dict)
    """Each system's waiting and closed states (graph.states)."""

    def rules(self, system: str) -> StateRules:
        return self.states.get(system, _NO_RULES)

    def responsible(self, link: int, mode: str) -> str:
        """Who answers for ``mode`` on ``link``, by the rule of DESIGN.md.

        ``unavailable`` is the vendor of the system that did not answer the calls (the callee:
        a pull link's ``from``, a push link's ``to``); ``lost`` the vendor of the system that
        took the data and dropped it; everything else the link's owner.
        """
        spec = self.links[link]
        if mode == "unavailable":
            return self.vendor.get(spec.callee, spec.owner)
        if mode == "lost":
            return self.vendor.get(spec.to, spec.owner)
        return spec.owner


Learned = tuple[tuple[str, tuple[str, ...]], ...]
"""Waiting states learned from history for systems with no rules: ((system, states), ...)."""


def compile_plan(topology: Topology, learned: Learned = ()) -> Plan:
    """The :class:`Plan` of ``topology``; cached, so repeated diagnoses share one.

    ``learned`` (see :mod:`graph.learning`) gives waiting states to systems that have no
    state rules of their own or of their kind.
    """
    return _compile(topology.model_dump_json(by_alias=True), learned)


@lru_cache(maxsize=256)
def _compile(topology_json: str, learned: Learned) -> Plan:
    topology = Topology.model_validate_json(topology_json)
    states = {s.id: state_rules(s.kind, s.states) for s in topology.systems}
    for system, waiting in learned:
        if system in states and not states[system].known:
            states[system] = StateRules(frozenset(waiting), frozenset(), "learned")
    links = tuple(topology.links)
    flows: dict[str, FlowPlan] = {}
    for flow in topology.flows:
        graph: nx.DiGraph[str] = nx.DiGraph()
        out: dict[str, list[int]] = {}
        for index, link in enumerate(links):
            if link.flow == flow:
                graph.add_edge(link.from_, link.to)
                out.setdefault(link.from_, []).append(index)
        # Lexicographic so that hops come out in the same order whatever the link order.
        order = tuple(nx.lexicographical_topological_sort(graph))
        flows[flow] = FlowPlan(
            name=flow,
            order=order,
            out_links={system: tuple(indices) for system, indices in out.items()},
            ancestors={system: frozenset(nx.ancestors(graph, system)) for system in order},
            sources=tuple(s for s in order if graph.in_degree(s) == 0),
            sinks=tuple(s for s in order if graph.out_degree(s) == 0),
        )
    into: dict[str, list[int]] = {}
    out_of: dict[str, list[int]] = {}
    for index, link in enumerate(links):
        into.setdefault(link.to, []).append(index)
        out_of.setdefault(link.from_, []).append(index)
    return Plan(
        topology=topology,
        key=topology_json + (repr(learned) if learned else ""),
        links=links,
        flows=flows,
        link_by_call={(link.flow, link.caller, link.callee): i for i, link in enumerate(links)},
        vendor={system.id: system.vendor for system in topology.systems},
        links_into={k: tuple(v) for k, v in into.items()},
        links_out_of={k: tuple(v) for k, v in out_of.items()},
        states=states,
    )


_NO_RULES = StateRules()
