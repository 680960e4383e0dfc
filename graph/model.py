"""The normalized shapes every part of Arbiter speaks: events and topologies.

These are the wire shapes of CONTRACT.md. They live in ``graph`` because the domain core owns
its vocabulary; ``app`` validates requests with them and ``connectors`` produce them.

>>> Event.model_validate({"id": "e1", "time": "2026-11-25T10:00:00Z", "flow": "order",
...     "kind": "seen", "system": "shop", "refs": {"shop": "100045"}}).refs
{'shop': '100045'}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

ARBITER_SYSTEM = "arbiter"
"""Reserved system id: the source of Arbiter's own probe calls."""

SystemId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
FlowName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Namespace = Annotated[str, StringConstraints(min_length=1, max_length=100)]
RefValue = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EventKind = Literal["seen", "call"]
Initiator = Literal["from", "to"]


class Outcome(BaseModel):
    """What came of one call: the HTTP status (None when no response came) and its duration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    status: Annotated[int, Field(ge=100, le=599)] | None
    duration_ms: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    error: Annotated[str, StringConstraints(max_length=4000)] | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Event(BaseModel):
    """One observation: entity seen in a system, or a call from one system to another."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    time: AwareDatetime
    flow: FlowName
    kind: EventKind
    system: SystemId
    target: SystemId | None = None
    refs: dict[Namespace, RefValue] = Field(default_factory=dict, max_length=50)
    state: Annotated[str, StringConstraints(max_length=200)] | None = None
    quantity: Annotated[float, Field(allow_inf_nan=False)] | int | None = None
    outcome: Outcome | None = None
    data: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _kind_fields(self) -> Event:
        if self.kind == "seen":
            if not self.refs:
                raise ValueError("refs: a 'seen' event needs at least one namespace:value pair")
            if self.target is not None:
                raise ValueError("target: only a 'call' event has a target")
            if self.outcome is not None:
                raise ValueError("outcome: only a 'call' event has an outcome")
        else:
            if self.target is None:
                raise ValueError("target: a 'call' event needs the system it called")
            if self.outcome is None:
                raise ValueError("outcome: a 'call' event needs its outcome")
            if self.target == self.system:
                raise ValueError("target: a system does not call itself")
        return self

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready data, without the optional top-level fields it leaves out.

        ``outcome.status`` stays even when null: null there means "no response came".
        """
        return {k: v for k, v in self.model_dump(mode="json").items() if v is not None}

    def json_text(self) -> str:
        """The JSON of :meth:`to_json` as text, as the store keeps it and a trace shows it: the
        same value as ``json.dumps(event.to_json(), separators=(",", ":"))`` and mostly the same
        text (non-ASCII text is not escaped, ``1e-05`` is spelt ``0.00001``), made by
        pydantic-core in one call, a third of what the dump and ``json.dumps`` cost.

        >>> Event.model_validate({"id": "c1", "time": "2026-11-25T10:00:00Z", "flow": "order",
        ...     "kind": "call", "system": "oms", "target": "erp", "refs": {},
        ...     "outcome": {"status": None, "duration_ms": 30000}}).json_text()
        '{"id":"c1","time":"2026-11-25T10:00:00Z","flow":"order","kind":"call","system":"oms","target":"erp","refs":{},"outcome":{"status":null,"duration_ms":30000.0,"error":null}}'
        """
        nones = (
            self.target is None,
            self.state is None,
            self.quantity is None,
            self.outcome is None,
            self.data is None,
        )
        exclude = _LEFT_OUT.get(nones)
        if exclude is None:
            exclude = _LEFT_OUT[nones] = {
                name for name, none in zip(_OPTIONAL, nones, strict=True) if none
            }
        return Event.__pydantic_serializer__.to_json(self, exclude=exclude).decode()


_OPTIONAL = ("target", "state", "quantity", "outcome", "data")
"""The top-level fields of an event that :meth:`Event.to_json` leaves out when None."""
_LEFT_OUT: dict[tuple[bool, ...], set[str]] = {}


StateName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class SystemStates(BaseModel):
    """What a system's entity ``state`` values mean for the flows (CONTRACT.md, ``states``).

    ``waiting``: not expected downstream yet (an unpaid order); the next hop's SLA clock starts
    when the entity leaves these states. ``closed``: the journey ends there, with no blame.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    waiting: list[StateName] = Field(default_factory=list, max_length=100)
    closed: list[StateName] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _disjoint(self) -> SystemStates:
        both = sorted({s.casefold() for s in self.waiting} & {s.casefold() for s in self.closed})
        if both:
            raise ValueError(f"states: {', '.join(both)} cannot be both waiting and closed")
        return self


class System(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: SystemId
    kind: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    vendor: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    states: SystemStates | None = None


class Link(BaseModel):
    """A hop of one flow: data moves from ``from`` to ``to``; ``initiator`` drives it."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    flow: FlowName
    from_: SystemId = Field(alias="from")
    to: SystemId
    initiator: Initiator
    owner: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    sla_seconds: Annotated[float, Field(gt=0, le=30 * 86400, allow_inf_nan=False)]

    @property
    def name(self) -> str:
        return f"{self.flow} {self.from_}→{self.to}"

    @property
    def caller(self) -> str:
        """The system that makes the calls carrying data over this link."""
        return self.from_ if self.initiator == "from" else self.to

    @property
    def callee(self) -> str:
        return self.to if self.initiator == "from" else self.from_

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Topology(BaseModel):
    """Systems and the links of each flow. Validation rejects a flow that is not a DAG."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    systems: list[System] = Field(max_length=200)
    links: list[Link] = Field(max_length=1000)

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        problems = topology_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def flows(self) -> list[str]:
        return sorted({link.flow for link in self.links})

    def system(self, system_id: str) -> System | None:
        return next((s for s in self.systems if s.id == system_id), None)

    def to_json(self) -> dict[str, Any]:
        # A system without ``states`` round-trips as it was sent (the field is optional).
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


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
    import networkx as nx  # only validation needs it: the model stays light to import

    graph: nx.DiGraph[str] = nx.DiGraph()
    for link in links:
        if link.flow == flow:
            graph.add_edge(link.from_, link.to, link=link)
    try:
        edges = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return []
    return [graph.edges[u, v]["link"] for u, v in edges]
