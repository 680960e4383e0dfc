"""Suspects: the blamed failures of the window, scored, merged into ``down``, and explained.

Scoring
-------
Spectrum-based fault localisation over links, with the first-failing-hop rule deciding what
counts as a failure *at* a link. For a suspect (link ``L``, mode ``m``) in flow ``f``:

- ``ef``: journeys whose first failed hop is ``L`` with mode ``m`` (``affected``);
- ``ep``: journeys that passed ``L`` while it was failing (``healthy``): between the
  suspect's first and last failure, and over at least one SLA from the first. Counting the
  whole window instead would call a one-hour outage in a busy day unlikely, and a lone stuck
  order in a quiet hour certain; the failure period asks "did anything get through meanwhile";
- ``nf``: journeys of ``f`` whose first failure lies elsewhere or has another mode.

``confidence`` is Ochiai, ``ef / sqrt((ef + nf) * (ef + ep))``, in [0, 1]: 37 affected and 2
healthy on a link with no other failures give 0.97. Suspects are *ranked* by DStar
(``ef² / (ep + nf + 1)``, the add-one keeping a lone failure with no counter-evidence from
outranking an outage), which grows with the failures a suspect explains; Ochiai breaks ties.

Down
----
A system whose links in *and* out fail together is named itself (``link`` null): its failing
links must each be attributable to it (it did not answer calls, ``unavailable`` with it as
callee, or it made none, ``missing`` with it as caller), the failures on both sides must
overlap in time, something must show it not answering (its calls unanswered, or Arbiter's
probes of it unanswered), and no probe of it may have succeeded meanwhile.

>>> confidence(affected=37, healthy=2, failed_in_flow=37)
0.97
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from graph.calls import CallLogs
from graph.hops import SKEW_TOLERANCE_SECONDS, Mode, spoken_duration
from graph.journeys import Call
from graph.plan import Plan
from graph.results import CallEvidence, EntityRef, Evidence, LinkRef, Suspect, utc
from graph.tally import Group, Tally

MAX_SAMPLE_ENTITIES = 10
MAX_SAMPLE_CALLS = 10

Identify = Callable[[int, tuple[str, ...]], EntityRef]
"""(journey root, preferred namespaces) → the identifier to show for that journey."""


def confidence(*, affected: int, healthy: int, failed_in_flow: int) -> float:
    """Ochiai suspiciousness of a link given its failed and passed journeys, rounded.

    >>> confidence(affected=1, healthy=999, failed_in_flow=1)
    0.03
    """
    total_failed = max(failed_in_flow, affected)
    if affected == 0:
        return 0.0
    return round(affected / math.sqrt(total_failed * (affected + healthy)), 2)


def dstar(*, affected: int, healthy: int, failed_in_flow: int) -> float:
    """DStar (star 2) with add-one smoothing: the ranking key.

    >>> dstar(affected=37, healthy=2, failed_in_flow=38)
    342.25
    >>> dstar(affected=1, healthy=0, failed_in_flow=38)
    0.02631578947368421
    """
    others = max(failed_in_flow - affected, 0)
    return affected * affected / (healthy + others + 1)


@dataclass(slots=True)
class _Candidate:
    groups: list[Group]
    system: str | None
    mode: Mode
    responsible: str
    affected: int
    healthy: int
    failed: int
    first: float
    last: float


def rank_suspects(
    tally: Tally,
    plan: Plan,
    logs: CallLogs,
    identify: Identify,
    *,
    as_of: float,
    window: float,
    skew: float = SKEW_TOLERANCE_SECONDS,
) -> list[Suspect]:
    """The suspects of ``tally``, most likely first; [] when nothing failed.

    ``skew`` widens the periods compared across systems' clocks (see graph.hops).
    """
    candidates: list[_Candidate] = []
    groups = dict(tally.groups)
    for system in sorted(plan.vendor):
        down = _down(system, groups, plan, logs, tally, as_of=as_of, window=window, skew=skew)
        if down is not None:
            for group in down.groups:
                groups.pop((group.link, group.mode), None)
            candidates.append(down)
    for (link, _mode), group in sorted(groups.items()):
        healthy = _healthy_meanwhile(tally, plan, [group])
        candidates.append(
            _Candidate(
                [group],
                None,
                group.mode,
                plan.responsible(link, group.mode),
                group.affected,
                healthy,
                tally.failed_by_flow.get(group.flow, group.affected),
                group.first,
                group.last,
            )
        )
    suspects = [_suspect(c, plan, logs, identify, as_of) for c in candidates]
    suspects.sort(key=lambda s: (-s.score, -s.confidence, -s.affected, s.summary))
    return suspects


def _down(
    system: str,
    groups: dict[tuple[int, str], Group],
    plan: Plan,
    logs: CallLogs,
    tally: Tally,
    *,
    as_of: float,
    window: float,
    skew: float,
) -> _Candidate | None:
    into, out_of = plan.links_into.get(system, ()), plan.links_out_of.get(system, ())
    if not into or not out_of:
        return None
    mine = [
        g
        for g in groups.values()
        if (g.mode == "unavailable" and plan.links[g.link].callee == system)
        or (g.mode == "missing" and plan.links[g.link].caller == system)
    ]
    if not mine:
        return None
    start, end = min(g.first for g in mine), max(g.last for g in mine)
    sides: list[tuple[float, float]] = []
    answered_nothing = any(g.mode == "unavailable" for g in mine)
    for side in (into, out_of):
        failing = [g for g in mine if g.link in side]
        if failing:
            sides.append((min(g.first for g in failing), max(g.last for g in failing)))
            continue
        unanswered = _unanswered_span(system, side, plan, logs, start, end, skew)
        if unanswered is None:
            return None
        sides.append(unanswered)
        answered_nothing = True
    (a0, a1), (b0, b1) = sides
    if max(a0, b0) > min(a1, b1) + skew:
        return None
    # Both sides failing at once is the period the system itself was out: judge probes there.
    probes = logs.probes(system, max(a0, b0) - skew, min(a1, b1, as_of) + skew)
    # A probe answered at the edge of the period is the system before it went down; the
    # latest one answered means it is up.
    if probes and probes[-1].succeeded:
        return None
    if not answered_nothing and not probes:
        return None
    affected = sum(g.affected for g in mine)
    return _Candidate(
        sorted(mine, key=lambda g: (g.link, g.mode)),
        system,
        "down",
        plan.vendor[system],
        affected,
        _healthy_meanwhile(tally, plan, mine),
        sum(tally.failed_by_flow.get(f, 0) for f in {g.flow for g in mine}),
        min(a0, b0),
        max(a1, b1),
    )


def _healthy_meanwhile(tally: Tally, plan: Plan, groups: list[Group]) -> int:
    """Entities that got through the groups' links while they were failing."""
    passed = 0
    for group in groups:
        sla = plan.links[group.link].sla_seconds
        end = max(group.last, group.first + sla)
        passed += tally.links[group.link].passed_between(group.first, end)
    return passed


def _unanswered_span(
    system: str,
    side: tuple[int, ...],
    plan: Plan,
    logs: CallLogs,
    start: float,
    end: float,
    skew: float,
) -> tuple[float, float] | None:
    """When calls to ``system`` on these links all went unanswered in the period, their span."""
    found: list[Call] = []
    for link in side:
        spec = plan.links[link]
        if spec.callee != system:
            continue
        found += logs.calls(
            spec.flow,
            spec.caller,
            spec.callee,
            start - skew,
            end + skew,
        )
    # The system was out from the first of the latest unbroken run of unanswered calls.
    found.sort(key=_call_order)
    run: list[Call] = []
    for call in reversed(found):
        if not call.unanswered:
            break
        run.append(call)
    if not run:
        return None
    return run[-1].time, run[0].time


def _suspect(
    candidate: _Candidate, plan: Plan, logs: CallLogs, identify: Identify, as_of: float
) -> Suspect:
    groups = candidate.groups
    first = groups[0]
    spec = plan.links[first.link]
    calls = sorted({e: c for g in groups for e, c in g.calls.items()}.values(), key=_call_order)
    if candidate.system is not None:
        prefer: tuple[str, ...] = (candidate.system, "sku")
    else:
        prefer = (spec.from_, spec.to, "sku")
    samples = _sample_entities(groups, identify, prefer)
    summary = (
        _down_summary(candidate, plan, logs, calls, as_of)
        if candidate.system is not None
        else _summary(first, plan, calls, as_of)
    )
    links = sorted({g.link for g in groups})
    return Suspect(
        link=None if candidate.system is not None else _link_ref(plan, first.link),
        system=candidate.system,
        mode=candidate.mode,
        responsible=candidate.responsible,
        confidence=confidence(
            affected=candidate.affected,
            healthy=candidate.healthy,
            failed_in_flow=candidate.failed,
        ),
        affected=candidate.affected,
        healthy=candidate.healthy,
        first_seen=utc(candidate.first),
        last_seen=utc(candidate.last),
        summary=summary,
        evidence=Evidence(entities=samples, calls=[call_evidence(c) for c in _sample(calls)]),
        flow=None if candidate.system is not None else first.flow,
        links=[_link_ref(plan, link) for link in links] if candidate.system is not None else [],
        score=round(
            dstar(
                affected=candidate.affected,
                healthy=candidate.healthy,
                failed_in_flow=candidate.failed,
            ),
            4,
        ),
    )


def _call_order(call: Call) -> tuple[float, str]:
    return call.time, call.event


def _sample(calls: list[Call]) -> list[Call]:
    """The first two calls (when it began) and the latest ones (how it is now)."""
    if len(calls) <= MAX_SAMPLE_CALLS:
        return calls
    return calls[:2] + calls[-(MAX_SAMPLE_CALLS - 2) :]


def _sample_entities(
    groups: list[Group], identify: Identify, prefer: tuple[str, ...]
) -> list[EntityRef]:
    entries = sorted(e for g in groups for e in g.entities)
    if len(entries) > MAX_SAMPLE_ENTITIES:
        # Roots depend on delivery order; cut by time only, then order ties by identifier.
        cutoff = entries[MAX_SAMPLE_ENTITIES - 1][0]
        entries = [e for e in entries if e[0] <= cutoff]
    named = [(t, identify(root, prefer)) for t, root in entries]
    named.sort(key=lambda item: (item[0], item[1].namespace, item[1].value))
    return [ref for _, ref in named[:MAX_SAMPLE_ENTITIES]]


def call_evidence(call: Call) -> CallEvidence:
    return CallEvidence(
        id=call.event,
        time=utc(call.time),
        flow=call.flow,
        caller=call.caller,
        target=call.target,
        status=call.status,
        error=call.error,
        duration_ms=call.duration_ms,
        link_level=call.bare,
    )


def _link_ref(plan: Plan, link: int) -> LinkRef:
    spec = plan.links[link]
    return LinkRef(flow=spec.flow, from_=spec.from_, to=spec.to)


def noun(flow: str, count: int) -> str:
    """What the merchant calls the entities of ``flow``.

    >>> noun("order", 1), noun("order", 37), noun("stock", 4), noun("returns", 2)
    ('1 order', '37 orders', '4 SKUs', '2 returns items')
    """
    lowered = flow.lower()
    if lowered.startswith("order"):
        word = "order" if count == 1 else "orders"
    elif lowered in {"stock", "inventory", "stocks", "prices", "price"}:
        word = "SKU" if count == 1 else "SKUs"
    else:
        word = f"{flow} item" if count == 1 else f"{flow} items"
    return f"{count} {word}"


def clock_time(seconds: float, as_of: float) -> str:
    """A time as a merchant reads it: ``10:02 UTC``, with the date when not as_of's day.

    >>> clock_time(3600 * 10 + 120, 3600 * 12)
    '10:02 UTC'
    """
    when = datetime.fromtimestamp(seconds, UTC)
    if when.date() == datetime.fromtimestamp(as_of, UTC).date():
        return when.strftime("%H:%M UTC")
    return when.strftime("%b %d %H:%M UTC")


def describe_calls(calls: list[Call], who: str) -> str:
    """How ``who`` answered these calls, in words.

    >>> c = Call(0.0, "c1", "order", "oms", "erp", 503, 30.0, None, False)
    >>> describe_calls([c, c._replace(event="c2")], "erp")
    'erp answered 503 to every attempt'
    """
    failing = [c for c in calls if not c.succeeded]
    if not failing:
        return f"{who} accepted every attempt"
    statuses = Counter("no answer" if c.status is None else str(c.status) for c in failing)
    every = len(failing) == len(calls)
    if len(statuses) == 1:
        status = next(iter(statuses))
        if status == "no answer":
            text = f"{who} gave no answer to {'every attempt' if every else 'some attempts'}"
        else:
            text = f"{who} answered {status} to {'every attempt' if every else 'some attempts'}"
    else:
        listed = ", ".join(s for s, _ in statuses.most_common(3))
        text = f"{who} failed {len(failing)} of {len(calls)} attempts ({listed})"
    errors = Counter(c.error for c in failing if c.error)
    if errors:
        error = errors.most_common(1)[0][0]
        text += f" ({_quote(error)})"
    return text


def _quote(text: str) -> str:
    short = text if len(text) <= 80 else text[:77] + "..."
    return f"“{short}”"


def _summary(group: Group, plan: Plan, calls: list[Call], as_of: float) -> str:
    spec = plan.links[group.link]
    count = noun(group.flow, group.affected)
    since = clock_time(group.first, as_of)
    stock = noun(group.flow, 2).endswith("SKUs")
    stuck = (
        f"{count} not updated from {spec.from_} to {spec.to}"
        if stock
        else f"{count} stuck between {spec.from_} and {spec.to}"
    )
    arbiter_only = calls and all(c.caller not in (spec.caller, spec.callee) for c in calls)
    held = _held_back(group, spec.sla_seconds)
    if held and group.arrived_late == group.affected:
        stuck = f"{count} reached {spec.to} from {spec.from_} late"
    match group.mode:
        case "unavailable" if arbiter_only:
            return f"{stuck}: {spec.callee} also failed Arbiter's own checks since {since}{held}"
        case "unavailable" | "rejected" | "rate_limited":
            text = describe_calls(calls, spec.callee) if calls else f"{spec.callee} failed"
            return f"{stuck}: {text} since {since}{held}"
        case "missing":
            verb = "fetched them from" if spec.initiator == "to" else "sent them to"
            return f"{stuck}: {spec.caller} never {verb} {spec.callee} since {since}"
        case "lost":
            return (
                f"{count} accepted by {spec.to} from {spec.from_} but never seen in "
                f"{spec.to} since {since}"
            )
        case "late":
            return (
                f"{count} reached {spec.to} from {spec.from_} late since {since}: the slowest "
                f"took {spoken_duration(group.slowest)} against {spoken_duration(spec.sla_seconds)}"
            )
        case _:
            example = min(group.details)[1] if group.details else "the data differs"
            return f"{count} differ between {spec.from_} and {spec.to} since {since}: {example}"


def _held_back(group: Group, sla: float) -> str:
    """What a mode did to the entities that got through only after their SLA, if any did."""
    if not group.arrived_late:
        return ""
    slowest = f"the slowest took {spoken_duration(group.slowest)} against {spoken_duration(sla)}"
    if group.arrived_late == group.affected:
        return f"; {slowest}"
    return f"; {group.arrived_late} of them got through late, {slowest}"


def _down_summary(
    candidate: _Candidate, plan: Plan, logs: CallLogs, calls: list[Call], as_of: float
) -> str:
    system = candidate.system or ""
    by_flow: Counter[str] = Counter()
    for group in candidate.groups:
        by_flow[group.flow] += group.affected
    stuck = " and ".join(noun(flow, n) for flow, n in sorted(by_flow.items()))
    answered = [c for c in calls if c.target == system]
    how = f"it answered none of {len(answered)} calls" if answered else "it made no transfers"
    since = clock_time(candidate.first, as_of)
    answered_since = [c for c in logs.probes(system, candidate.last, as_of) if c.succeeded] + [
        c
        for link in plan.links_into.get(system, ()) + plan.links_out_of.get(system, ())
        if plan.links[link].callee == system
        for c in logs.calls(
            plan.links[link].flow, plan.links[link].caller, system, candidate.last, as_of
        )
        if c.succeeded
    ]
    if answered_since:
        back = clock_time(min(c.time for c in answered_since), as_of)
        return f"{system} was down from {since} to {back}: {how}; {stuck} stuck on its links"
    return f"{system} is down since {since}: {how}; {stuck} stuck on its links"
