"""Hop verdicts and the failure mode of a hop, read from the calls made on it.

Clock skew
----------
Event times come from the clocks of different systems, which disagree by a minute or two.
Every comparison of a time from one system with a deadline derived from another's adds
the clock's ``skew``, by default :data:`SKEW_TOLERANCE_SECONDS` (180 s; a setting of the
service, ``ARBITER_CLOCK_SKEW_SECONDS``): a hop is ``late`` only when it arrived more than
``sla + 180 s`` after it was entered, and an unfinished hop turns from ``pending`` into failed
(``missing``, ``lost``...) only once ``as_of`` is past ``entered + sla + 180 s``. Three minutes
covers two clocks each up to ~90 s off in opposite directions, or one up to 2 min off, so skew
alone never yields ``late`` or ``lost``; the cost is that a real failure is named up to three
minutes later than a perfectly synchronised world would allow.

The clock
---------
A diagnosis is computed *as of* a moment. :class:`Clock` answers "has ``as_of`` reached this
time?" and remembers the nearest answers either side, so a verdict knows the whole interval of
``as_of`` over which it stays true: the index reuses it for any later diagnosis inside that
interval instead of judging the journey again.

>>> clock = Clock(100.0)
>>> clock.reached(90.0), clock.reached(130.0)
(True, False)
>>> clock.lo, clock.hi
(90.0, 130.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Literal, Protocol, TypeVar

from graph.journeys import Call
from graph.model import Link
from graph.text import Text

_T = TypeVar("_T")

SKEW_TOLERANCE_SECONDS = 180.0
MAX_HOP_CALLS = 20
"""Calls kept per hop as evidence: the first ones and the latest ones."""

Mode = Literal[
    "missing", "rejected", "rate_limited", "unavailable", "lost", "late", "mismatch", "down"
]
HopStatus = Literal["ok", "pending", "failed", "blocked"]


class Clock:
    """``as_of`` that records the nearest compared times below and above it."""

    __slots__ = ("at", "hi", "lo", "skew")

    def __init__(self, at: float, skew: float = SKEW_TOLERANCE_SECONDS) -> None:
        self.at = at
        self.skew = skew

        self.lo = -math.inf
        self.hi = math.inf

    def reached(self, when: float) -> bool:
        """Whether ``when <= as_of``.

        >>> Clock(5.0).reached(5.0)
        True
        """
        if when <= self.at:
            if when > self.lo:
                self.lo = when
            return True
        if when < self.hi:
            self.hi = when
        return False


class SharedCalls(Protocol):
    """Evidence shared by many journeys: calls naming no entity, Arbiter's probes, and every
    call between two systems."""

    def bare(self, flow: str, caller: str, target: str, start: float, end: float) -> list[Call]: ...

    def probes(self, target: str, start: float, end: float) -> list[Call]: ...

    def between(self, caller: str, target: str, start: float, end: float) -> list[Call]: ...


def _pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle the slots dataclass ``cls`` as its constructor and fields' values. Its own
    ``__getstate__`` and ``__setstate__`` ask ``dataclasses.fields`` again for every object:
    most of the time of writing and reading the 350,000 verdict pieces of a large index's
    snapshot (app.diagnosis.snapshot).

    >>> import pickle
    >>> pickle.loads(pickle.dumps(Reading("erp", 5, 1.0, 2.0)))
    Reading(system='erp', quantity=5, since=1.0, observed=2.0)
    """
    names = [field.name for field in fields(cls)]  # type: ignore[arg-type]
    assert len(names) > 1, "attrgetter gives a tuple for two names or more"
    values = attrgetter(*names)

    def __reduce__(self: _T) -> tuple[type[_T], tuple[object, ...]]:
        return cls, values(self)

    cls.__reduce__ = __reduce__  # type: ignore[assignment, method-assign]
    return cls


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Hop:
    """One link of one journey, judged as of a moment.

    ``first``/``last`` bound the evidence of a failure; ``ongoing`` says the entity is still
    not where it should be; ``blamed`` marks the first failed hop of the journey, the only one
    that counts against its link.
    """

    flow: str
    link: int
    status: HopStatus
    mode: Mode | None = None
    entered: float | None = None
    arrived: float | None = None
    deadline: float | None = None
    first: float | None = None
    last: float | None = None
    ongoing: bool = False
    blamed: bool = False
    calls: tuple[Call, ...] = ()
    detail: str | None = None
    quantities: tuple[float | int | None, float | int | None] | None = None
    said: Text | None = None
    """``detail`` as a text the app can say in another language (graph.text)."""


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class Reading:
    """What one system shows for a stock entity: quantity, since when, last observed."""

    system: str
    quantity: float | int
    since: float
    observed: float


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class FlowVerdict:
    flow: str
    hops: tuple[Hop, ...]
    readings: tuple[Reading, ...] = ()


@_pickled_by_fields
@dataclass(frozen=True, slots=True)
class JourneyVerdict:
    """All flows of one journey, valid for any ``as_of`` in ``[lo, hi)``."""

    flows: tuple[FlowVerdict, ...]
    lo: float
    hi: float
    uses_shared: bool


def classify(call: Call) -> Mode:
    """The failure mode one unsuccessful call shows.

    >>> classify(Call(0.0, "c1", "order", "oms", "erp", 429, 5.0, None, False))
    'rate_limited'
    """
    if call.unanswered:
        return "unavailable"
    if call.status == 429:
        return "rate_limited"
    return "rejected"


def failure_mode(
    spec: Link,
    entity_calls: list[Call],
    start: float,
    end: float,
    clock: Clock,
    shared: SharedCalls,
) -> tuple[Mode | None, tuple[Call, ...], bool]:
    """Why a hop entered at ``start`` with deadline ``end`` never completed.

    ``entity_calls`` are this entity's calls on the link already judged at or before as_of.
    Returns the mode (None while the evidence has not settled: the hop is still pending), the
    calls that show it, and whether shared evidence was consulted.
    The calls decide: any accepted call means the receiver dropped the entity (``lost``), once
    the receiver has had the link's SLA since the latest acceptance to show it; otherwise the
    latest failed call names the mode. Without calls of its own, the link's calls about no
    single entity in the same period speak for it, then Arbiter's probes of the callee; with
    no evidence at all, nobody tried (``missing``).
    """
    if entity_calls:
        accepted = [c for c in entity_calls if c.succeeded]
        if accepted:
            # Accepted, but the receiver cannot be looked at since: not proven dropped.
            probes = [
                c
                for c in shared.probes(spec.callee, accepted[-1].time, clock.at)
                if clock.reached(c.time)
            ]
            if probes and all(c.unanswered for c in probes):
                return "unavailable", sample_calls(probes), True
            # Settled evidence only: what the receiver showed before it had its own SLA to
            # show the accepted data may simply predate the write.
            if not clock.reached(accepted[-1].time + spec.sla_seconds + clock.skew):
                return None, sample_calls(entity_calls), True
            return "lost", sample_calls(entity_calls), True
        return classify(entity_calls[-1]), sample_calls(entity_calls), False
    window_start = start - clock.skew
    bare = [
        c
        for c in shared.bare(spec.flow, spec.caller, spec.callee, window_start, end)
        if clock.reached(c.time)
    ]
    failing = [c for c in bare if not c.succeeded]
    if failing:
        return classify(failing[-1]), sample_calls(failing), True
    # A throttled or unanswered callee holds back what the caller has not tried yet: when the
    # caller's latest calls to it up to as_of (from one SLA before the entity came), whatever
    # their entity or flow, were all refused alike, they speak for it.
    around = shared.between(spec.caller, spec.callee, start - spec.sla_seconds, clock.at)
    held = _refused_run([c for c in around if clock.reached(c.time)])
    if held:
        return classify(held[-1]), sample_calls(held), True
    probes = [
        c
        for c in shared.probes(spec.callee, window_start, end + clock.skew)
        if clock.reached(c.time)
    ]
    if probes and probes[-1].unanswered:
        return "unavailable", sample_calls([c for c in probes if c.unanswered]), True
    return "missing", sample_calls(bare), True


def late_cause(
    spec: Link,
    entity_calls: list[Call],
    start: float,
    arrived: float,
    clock: Clock,
    shared: SharedCalls,
) -> tuple[Mode, tuple[Call, ...], bool]:
    """Who made a hop late: it was entered at ``start`` and arrived past its deadline.

    Lateness is blamed on whoever caused it. When the caller's attempts made in time met
    refusals (no answer or 5xx, 429, another 4xx), the mode is what they met, answered to the
    callee's vendor or the link's owner as for a hop that never completed. When the entity has
    no failed attempt of its own, the link was still failing when the entity fell due (calls
    about no single entity, a run of refusals to the caller on any flow, Arbiter's probes of
    the callee all unanswered) explains it. Otherwise every attempt was answered and the side
    that was slow is the link's: ``late``.
    Returns the mode, the calls that show it, and whether shared evidence was consulted.

    >>> from graph.calls import CallLogs
    >>> link = Link.model_validate({"flow": "order", "from": "oms", "to": "erp",
    ...     "initiator": "from", "owner": "Integrator", "sla_seconds": 900})
    >>> tries = [Call(60.0, "c1", "order", "oms", "erp", 503, 30.0, None, False),
    ...          Call(4000.0, "c2", "order", "oms", "erp", 200, 80.0, None, False)]
    >>> late_cause(link, tries, 0.0, 4000.0, Clock(5000.0, 10.0), CallLogs())[0]
    'unavailable'
    >>> late_cause(link, tries[1:], 0.0, 4000.0, Clock(5000.0, 10.0), CallLogs())[0]
    'late'
    """
    due = start + spec.sla_seconds + clock.skew
    mine = [c for c in entity_calls if start - clock.skew <= c.time <= arrived]
    failing = [c for c in mine if not c.succeeded and c.time <= due]
    if failing:
        return classify(failing[-1]), sample_calls(mine), False
    until = min(arrived, due)
    bare = [
        c
        for c in shared.bare(spec.flow, spec.caller, spec.callee, start - clock.skew, until)
        if clock.reached(c.time)
    ]
    # The link must still have been failing when the entity fell due: an early blip that was
    # over by then did not hold it back.
    still = _failing_tail(bare)
    if still:
        return classify(still[-1]), sample_calls(still), True
    around = shared.between(spec.caller, spec.callee, start - spec.sla_seconds, until)
    held = _refused_run([c for c in around if clock.reached(c.time)])
    if held:
        return classify(held[-1]), sample_calls(held), True
    probes = [
        c for c in shared.probes(spec.callee, start - clock.skew, until) if clock.reached(c.time)
    ]
    if probes and all(c.unanswered for c in probes):
        return "unavailable", sample_calls(probes), True
    return "late", sample_calls(mine), True


def _failing_tail(calls: list[Call]) -> list[Call]:
    """The unbroken run of failed calls at the end of ``calls`` (time order)."""
    tail: list[Call] = []
    for call in reversed(calls):
        if call.succeeded:
            break
        tail.append(call)
    return tail[::-1]


LINK_WIDE_RUN: dict[Mode, int] = {"rate_limited": 1, "unavailable": 3}
"""Refusals in a row after which a link counts as refusing everything: a rate limit is the
link's by nature; a 5xx or a timeout can be one entity's, so it takes a few."""


def _refused_run(calls: list[Call]) -> list[Call]:
    """The latest unbroken run of 429s, or of unanswered calls, when it is long enough."""
    run: list[Call] = []
    for call in reversed(calls):
        if call.succeeded or classify(call) not in ("rate_limited", "unavailable"):
            break
        if run and classify(call) != classify(run[0]):
            break
        run.append(call)
    return run[::-1] if run and len(run) >= LINK_WIDE_RUN[classify(run[0])] else []


def sample_calls(calls: list[Call]) -> tuple[Call, ...]:
    """At most :data:`MAX_HOP_CALLS` calls: the first few and the latest, in time order."""
    if len(calls) <= MAX_HOP_CALLS:
        return tuple(calls)
    head = MAX_HOP_CALLS // 4
    return tuple(calls[:head] + calls[-(MAX_HOP_CALLS - head) :])


def spoken_duration(seconds: float) -> str:
    """Seconds in the unit a person would say.

    >>> spoken_duration(45), spoken_duration(900), spoken_duration(5400)
    ('45 s', '15 min', '90 min')
    """
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
