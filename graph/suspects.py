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

from graph.calls import CallLogs
from graph.hops import SKEW_TOLERANCE_SECONDS, Mode, spoken_duration
from graph.journeys import Call
from graph.plan import Plan
from graph.results import CallEvidence, EntityRef, Evidence, LinkRef, Suspect, utc
from graph.tally import Group, Tally
from graph.text import Moment, Param, Text, counted, phrase

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
    suspect = Suspect(
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
        summary=str(summary),
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
    return suspect.with_text(summary)


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
    return str(noun_text(flow, count))


def noun_text(flow: str, count: int) -> Text:
    lowered = flow.lower()
    if lowered.startswith("order"):
        return counted("%(count)d order", "%(count)d orders", count)
    if lowered in _STOCK_FLOWS:
        return counted("%(count)d SKU", "%(count)d SKUs", count)
    return counted("%(count)d %(flow)s item", "%(count)d %(flow)s items", count, flow=flow)


_STOCK_FLOWS = frozenset({"stock", "inventory", "stocks", "prices", "price"})


def clock_time(seconds: float, as_of: float) -> str:
    """A time as a merchant reads it: ``10:02 UTC``, with the date when not as_of's day.

    >>> clock_time(3600 * 10 + 120, 3600 * 12)
    '10:02 UTC'
    """
    return str(Moment(seconds, as_of))


def describe_calls(calls: list[Call], who: str) -> str:
    """How ``who`` answered these calls, in words.

    >>> c = Call(0.0, "c1", "order", "oms", "erp", 503, 30.0, None, False)
    >>> describe_calls([c, c._replace(event="c2")], "erp")
    'erp answered 503 to every attempt'
    """
    return str(calls_text(calls, who))


def calls_text(calls: list[Call], who: str) -> Text:
    failing = [c for c in calls if not c.succeeded]
    if not failing:
        return phrase("%(who)s accepted every attempt", who=who)
    statuses = Counter("no answer" if c.status is None else str(c.status) for c in failing)
    every = len(failing) == len(calls)
    if len(statuses) == 1:
        status = next(iter(statuses))
        if status == "no answer":
            text = (
                phrase("%(who)s gave no answer to every attempt", who=who)
                if every
                else phrase("%(who)s gave no answer to some attempts", who=who)
            )
        elif every:
            text = phrase("%(who)s answered %(status)s to every attempt", who=who, status=status)
        else:
            text = phrase("%(who)s answered %(status)s to some attempts", who=who, status=status)
    else:
        listed = ", ".join(s for s, _ in statuses.most_common(3))
        text = phrase(
            "%(who)s failed %(failed)d of %(total)d attempts (%(listed)s)",
            who=who,
            failed=len(failing),
            total=len(calls),
            listed=listed,
        )
    errors = Counter(c.error for c in failing if c.error)
    if errors:
        error = errors.most_common(1)[0][0]
        text = phrase("%(text)s (%(error)s)", text=text, error=_quote(error))
    return text


def _quote(text: str) -> str:
    short = text if len(text) <= 80 else text[:77] + "..."
    return f"“{short}”"


def _summary(group: Group, plan: Plan, calls: list[Call], as_of: float) -> Text:
    spec = plan.links[group.link]
    count = noun_text(group.flow, group.affected)
    since = Moment(group.first, as_of)
    ends = {"from": spec.from_, "to": spec.to}
    stuck = (
        phrase("%(count)s not updated from %(from)s to %(to)s", count=count, **ends)
        if group.flow.lower() in _STOCK_FLOWS
        else phrase("%(count)s stuck between %(from)s and %(to)s", count=count, **ends)
    )
    arbiter_only = calls and all(c.caller not in (spec.caller, spec.callee) for c in calls)
    held = _held_back(group, spec.sla_seconds)
    if held and group.arrived_late == group.affected:
        stuck = phrase("%(count)s reached %(to)s from %(from)s late", count=count, **ends)
    match group.mode:
        case "unavailable" if arbiter_only:
            return phrase(
                "%(stuck)s: %(callee)s also failed Arbiter's own checks since %(since)s%(held)s",
                stuck=stuck,
                callee=spec.callee,
                since=since,
                held=held,
            )
        case "unavailable" | "rejected" | "rate_limited":
            how = (
                calls_text(calls, spec.callee)
                if calls
                else phrase("%(who)s failed", who=spec.callee)
            )
            return phrase(
                "%(stuck)s: %(how)s since %(since)s%(held)s",
                stuck=stuck,
                how=how,
                since=since,
                held=held,
            )
        case "missing":
            who: dict[str, Param] = {
                "stuck": stuck,
                "caller": spec.caller,
                "callee": spec.callee,
                "since": since,
            }
            if spec.initiator == "to":
                return phrase(
                    "%(stuck)s: %(caller)s never fetched them from %(callee)s since %(since)s",
                    **who,
                )
            return phrase(
                "%(stuck)s: %(caller)s never sent them to %(callee)s since %(since)s", **who
            )
        case "lost":
            return phrase(
                "%(count)s accepted by %(to)s from %(from)s but never seen in %(to)s "
                "since %(since)s",
                count=count,
                since=since,
                **ends,
            )
        case "late":
            return phrase(
                "%(count)s reached %(to)s from %(from)s late since %(since)s: %(slowest)s",
                count=count,
                since=since,
                slowest=_slowest(group.slowest, spec.sla_seconds),
                **ends,
            )
        case _:
            example: Param = min(group.details)[1] if group.details else phrase("the data differs")
            return phrase(
                "%(count)s differ between %(from)s and %(to)s since %(since)s: %(example)s",
                count=count,
                since=since,
                example=example,
                **ends,
            )


def _slowest(slowest: float, sla: float) -> Text:
    return phrase(
        "the slowest took %(slowest)s against %(sla)s",
        slowest=spoken_duration(slowest),
        sla=spoken_duration(sla),
    )


def _held_back(group: Group, sla: float) -> Param:
    """What a mode did to the entities that got through only after their SLA, if any did."""
    if not group.arrived_late:
        return ""
    slowest = _slowest(group.slowest, sla)
    if group.arrived_late == group.affected:
        return phrase("; %(slowest)s", slowest=slowest)
    return counted(
        "; %(count)d of them got through late, %(slowest)s",
        "; %(count)d of them got through late, %(slowest)s",
        group.arrived_late,
        slowest=slowest,
    )


def _down_summary(
    candidate: _Candidate, plan: Plan, logs: CallLogs, calls: list[Call], as_of: float
) -> Text:
    system = candidate.system or ""
    by_flow: Counter[str] = Counter()
    for group in candidate.groups:
        by_flow[group.flow] += group.affected
    nouns = [noun_text(flow, n) for flow, n in sorted(by_flow.items())]
    stuck: Param = nouns[0] if nouns else ""
    for more in nouns[1:]:
        stuck = phrase("%(first)s and %(second)s", first=stuck, second=more)
    answered = [c for c in calls if c.target == system]
    how = (
        counted(
            "it answered none of %(count)d calls",
            "it answered none of %(count)d calls",
            len(answered),
        )
        if answered
        else phrase("it made no transfers")
    )
    since = Moment(candidate.first, as_of)
    answered_since = [c for c in logs.probes(system, candidate.last, as_of) if c.succeeded] + [
        c
        for link in plan.links_into.get(system, ()) + plan.links_out_of.get(system, ())
        if plan.links[link].callee == system
        for c in logs.calls(
            plan.links[link].flow, plan.links[link].caller, system, candidate.last, as_of
        )
        if c.succeeded
    ]
    facts: dict[str, Param] = {"system": system, "since": since, "how": how, "stuck": stuck}
    if answered_since:
        back = Moment(min(c.time for c in answered_since), as_of)
        return phrase(
            "%(system)s was down from %(since)s to %(back)s: %(how)s; %(stuck)s stuck on its links",
            back=back,
            **facts,
        )
    return phrase(
        "%(system)s is down since %(since)s: %(how)s; %(stuck)s stuck on its links", **facts
    )
