"""One pass over the journeys' verdicts: per-link counts and the blamed failures by mode.

Everything a diagnosis, the link health and the ranking need comes out of this single linear
pass, so its cost is one loop over the hops of the journeys; nothing here is quadratic.

A hop counts in the window ``[as_of - window, as_of]`` when its failure is still ongoing, or
its latest evidence (arrival, last call, last observation) lies in the window. Pending and
blocked hops are current by definition and always count.

>>> from graph.hops import FlowVerdict, Hop, JourneyVerdict
>>> verdict = JourneyVerdict((FlowVerdict("order", (
...     Hop("order", 0, "ok", entered=0.0, arrived=60.0),
...     Hop("order", 1, "failed", "missing", 60.0, None, 960.0, 60.0, 60.0, True, True),)),),
...     0.0, 1e9, False)
>>> tally = tally_verdicts([(7, verdict)], as_of=5000.0, window=86400.0)
>>> tally.links[0].ok, tally.groups[(1, "missing")].affected, tally.failed_by_flow
(1, 1, {'order': 1})
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

from graph.hops import Hop, JourneyVerdict, Mode
from graph.journeys import Call

MAX_GROUP_CALLS = 2000
"""Calls remembered per group for the summary; enough to say "every attempt" honestly."""


@dataclass(slots=True)
class LinkTally:
    ok: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0
    ongoing: int = 0
    last_success: float = -math.inf
    passed_at: list[float] = field(default_factory=list)
    """When each ``ok`` hop completed; sorted once the tally is done."""

    def passed_between(self, start: float, end: float) -> int:
        """How many entities completed the hop with ``start <= time <= end``.

        >>> LinkTally(passed_at=[1.0, 5.0, 9.0]).passed_between(2.0, 9.0)
        2
        """
        return bisect_right(self.passed_at, end) - bisect_left(self.passed_at, start)


@dataclass(slots=True)
class Group:
    """The blamed failures of one mode on one link."""

    link: int
    mode: Mode
    flow: str
    affected: int = 0
    first: float = math.inf
    last: float = -math.inf
    ongoing: int = 0
    entities: list[tuple[float, int]] = field(default_factory=list)
    calls: dict[str, Call] = field(default_factory=dict)
    details: list[tuple[float, str]] = field(default_factory=list)
    slowest: float = 0.0
    arrived_late: int = 0
    """Entities that did get through, past the SLA, held back by what this mode names."""

    def add(self, root: int, hop: Hop) -> None:
        self.affected += 1
        first = hop.first if hop.first is not None else hop.entered
        last = hop.last if hop.last is not None else first
        if first is not None and first < self.first:
            self.first = first
        if last is not None and last > self.last:
            self.last = last
        if hop.ongoing:
            self.ongoing += 1
        self.entities.append((hop.entered if hop.entered is not None else math.inf, root))
        if len(self.calls) < MAX_GROUP_CALLS:
            for call in hop.calls:
                self.calls[call.event] = call
        if hop.detail is not None and len(self.details) < MAX_GROUP_CALLS:
            self.details.append((first if first is not None else math.inf, hop.detail))
        if hop.arrived is not None and hop.entered is not None:
            self.slowest = max(self.slowest, hop.arrived - hop.entered)
            if hop.mode not in ("late", "mismatch"):
                self.arrived_late += 1


@dataclass(slots=True)
class Tally:
    links: dict[int, LinkTally] = field(default_factory=dict)
    groups: dict[tuple[int, str], Group] = field(default_factory=dict)
    failed_by_flow: dict[str, int] = field(default_factory=dict)


def tally_verdicts(
    verdicts: Iterable[tuple[int, JourneyVerdict]], *, as_of: float, window: float
) -> Tally:
    """Count every hop of ``verdicts`` (``(journey root, verdict)`` pairs) in the window."""
    since = as_of - window
    tally = Tally()
    links = tally.links
    for root, verdict in verdicts:
        for flow in verdict.flows:
            for hop in flow.hops:
                status = hop.status
                counts = links.get(hop.link)
                if counts is None:
                    counts = links[hop.link] = LinkTally()
                if status == "pending":
                    counts.pending += 1
                    continue
                if status == "blocked":
                    counts.blocked += 1
                    continue
                if not hop.ongoing and _latest(hop) < since:
                    continue
                if status == "ok":
                    counts.ok += 1
                    done = hop.arrived if hop.arrived is not None else hop.last
                    if done is not None:
                        counts.passed_at.append(done)
                        if done > counts.last_success:
                            counts.last_success = done
                    continue
                counts.failed += 1
                if hop.ongoing:
                    counts.ongoing += 1
                if not hop.blamed or hop.mode is None:
                    continue
                key = (hop.link, hop.mode)
                group = tally.groups.get(key)
                if group is None:
                    group = tally.groups[key] = Group(hop.link, hop.mode, hop.flow)
                group.add(root, hop)
                tally.failed_by_flow[hop.flow] = tally.failed_by_flow.get(hop.flow, 0) + 1
    for counts in links.values():
        counts.passed_at.sort()
    return tally


def _latest(hop: Hop) -> float:
    for value in (hop.last, hop.arrived, hop.entered):
        if value is not None:
            return value
    return -math.inf
