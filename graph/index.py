"""The incremental, in-memory index of one workspace: what diagnoses and traces are made of.

The app feeds it events as they are stored (and replays the store into it at start). Each event
is reduced at once to a compact fact on its journey (union-find over its refs) and, for calls,
to an entry in a per-link call log; the event's JSON is kept once, for traces. Nothing is
reloaded per diagnosis.

A diagnosis judges every journey, but each verdict is cached with the interval of ``as_of``
over which it stays true (see :class:`graph.hops.Clock`): a journey is judged again only when
it gained facts, a deadline of it passed, or (for the few verdicts that used link-level calls
or probes) that shared evidence changed. A later diagnosis therefore costs one pass over the
cached verdicts plus the journeys that actually moved.

>>> from datetime import UTC, datetime
>>> from graph.model import Event
>>> index = WorkspaceIndex()
>>> index.add([Event.model_validate({"id": "e1", "time": "2026-11-25T10:00:00Z",
...     "flow": "order", "kind": "seen", "system": "shop", "refs": {"shop": "100045"}})] * 2)
1
>>> len(index)
1
"""

from __future__ import annotations

import gc
import json
import math
import sys
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import chain
from operator import attrgetter
from typing import Any, TypeVar

from graph.calls import CallLogs
from graph.health import link_health
from graph.hops import SKEW_TOLERANCE_SECONDS, Clock, JourneyVerdict
from graph.journeys import Call, Fact, Seen, UnionFind, canonical_data
from graph.learning import learn_waiting
from graph.model import Event, Topology
from graph.plan import Learned, Plan, compile_plan
from graph.results import (
    Diagnosis,
    EntityRef,
    LinkHealth,
    LinkRef,
    StockDrift,
    Suspect,
    Trace,
    TraceHop,
    maybe_utc,
)
from graph.stock import stock_drift
from graph.suspects import call_evidence, rank_suspects
from graph.tally import Tally, tally_verdicts
from graph.verdicts import judge_journey

_MAX_INTERNED_ERRORS = 10_000
_MAX_INTERNED_DATA = 100_000
_Value = TypeVar("_Value")


def _one_copy(copies: dict[_Value, _Value], value: _Value, most: int) -> _Value:
    """The copy of ``value`` already kept, else ``value`` (kept too while fewer than ``most``).

    >>> copies: dict[str, str] = {}
    >>> first = _one_copy(copies, "".join(["5", "03"]), 10)
    >>> _one_copy(copies, "".join(["50", "3"]), 10) is first
    True
    """
    kept = copies.get(value)
    if kept is not None:
        return kept
    if len(copies) < most:
        copies[value] = value
    return value


_RELEARN_EVERY_CHANGE_BELOW = 50_000
"""Events under which the index learns waiting states again at every change (it is cheap)."""
_RELEARN_AFTER_SECONDS = 600.0


class WorkspaceIndex:
    """Incremental, in-memory per-workspace index. Fed events as they are stored.

    Not thread-safe: calls on one index must not overlap (the app holds a lock per index).
    """

    def __init__(self, *, skew_tolerance_seconds: float = SKEW_TOLERANCE_SECONDS) -> None:
        self._skew = skew_tolerance_seconds
        self._ids: dict[str, int] = {}
        self._system_times: dict[str, list[float]] = {}
        self._json: list[str] = []
        self._journeys = UnionFind()
        self._facts: dict[int, list[Fact]] = {}
        self._logs = CallLogs()
        self._errors: dict[str, str] = {}
        self._data: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}
        self._version = 0
        self._verdicts: dict[int, JourneyVerdict] = {}
        self._shared_users: set[int] = set()
        self._verdicts_plan: str | None = None
        self._verdicts_shared = 0
        self._last_tally: tuple[tuple[object, ...], Tally] | None = None
        self._learned: tuple[str, int, float, Learned] | None = None

    def __len__(self) -> int:
        return len(self._json)

    @property
    def version(self) -> int:
        """Grows with every new event; a cache key for results derived from the index."""
        return self._version

    def copy(self) -> WorkspaceIndex:
        """An index that answers as this one does and goes its own way after: every container
        is its own, the immutable facts, texts and verdicts are shared. Made in a fraction of
        the time writing it out takes, so a snapshot (app.diagnosis.snapshot) is written from
        a copy while this one goes on taking events and answering.

        >>> from graph.model import Event
        >>> index = WorkspaceIndex()
        >>> _ = index.add([Event.model_validate({"id": "1", "time": "2026-11-25T10:00:00Z",
        ...     "flow": "order", "kind": "seen", "system": "shop", "refs": {"shop": "1"}})])
        >>> copied = index.copy()
        >>> _ = index.add([Event.model_validate({"id": "2", "time": "2026-11-25T10:01:00Z",
        ...     "flow": "order", "kind": "seen", "system": "oms", "refs": {"shop": "1"}})])
        >>> len(index), len(copied)
        (2, 1)
        """
        with _no_gc_pauses():  # hundreds of thousands of new lists: no collections meanwhile
            return self._copied()

    def _copied(self) -> WorkspaceIndex:
        made = object.__new__(WorkspaceIndex)
        vars(made).update(vars(self))
        made._ids = dict(self._ids)
        made._system_times = {system: list(times) for system, times in self._system_times.items()}
        made._json = list(self._json)
        made._journeys = self._journeys.copy()
        made._facts = {root: list(facts) for root, facts in self._facts.items()}
        made._logs = self._logs.copy()
        made._errors = dict(self._errors)
        made._data = dict(self._data)
        made._verdicts = dict(self._verdicts)
        made._shared_users = set(self._shared_users)
        return made

    def __getstate__(self) -> dict[str, Any]:
        """What the index holds, without what it derives from that (its call logs, each
        system's times, where each event's text is): how :mod:`app.diagnosis.snapshot` writes
        it, in pieces each with a pickle memo of its own. With one memo for the whole index,
        the memo's table of every object written grew and was rehashed with the GIL held, up
        to 0.8 s at a time, every other thread stopped; so each piece shares only within
        itself, and :meth:`__setstate__` makes shared again what the index shares.

        >>> import pickle
        >>> from graph.model import Event
        >>> index = WorkspaceIndex()
        >>> _ = index.add([Event.model_validate({"id": "c1", "time": "2026-11-25T10:03:10Z",
        ...     "flow": "order", "kind": "call", "system": "oms", "target": "erp",
        ...     "refs": {"oms": "7789"}, "outcome": {"status": 503, "duration_ms": 30000}})])
        >>> again = pickle.loads(pickle.dumps(index))
        >>> facts, = vars(again)["_facts"].values()
        >>> facts[0] is vars(vars(again)["_logs"])["_entity"]["order", "oms", "erp"][0]
        True
        """
        state = dict(vars(self))
        held = [fact for facts in self._facts.values() for fact in facts]
        bare = self._logs.bare_since(-math.inf)
        state["_ids"] = [self._ids[fact.event] for fact in chain(held, bare)]
        state["_logs"] = bare
        state["_shared_version"] = self._logs.shared_version
        del state["_system_times"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """The index :meth:`__getstate__` gave, what it derives made again and shared: a fact's
        event id is the id table's key, its time the float in its system's times, a call the
        object in its link's log, an order's data the one copy of that data."""
        positions: list[int] = state.pop("_ids")
        bare: list[Call] = state.pop("_logs")
        shared_version: int = state.pop("_shared_version")
        vars(self).update(state)
        with _no_gc_pauses():
            for facts in self._facts.values():
                for at, fact in enumerate(facts):
                    if isinstance(fact, Seen) and fact.data is not None:
                        shared = self._data.get(fact.data)
                        if shared is not None and shared is not fact.data:
                            facts[at] = fact._replace(data=shared)
            every = [fact for facts in self._facts.values() for fact in facts]
            every += bare
            self._ids = {fact.event: at for fact, at in zip(every, positions, strict=True)}
            self._derive(every)
            self._logs.shared_version = shared_version

    def add(self, events: Iterable[Event], texts: Iterable[str | None] | None = None) -> int:
        """Take ``events`` in any order; an id already held is ignored. Returns how many were new.

        ``texts``: each event's :meth:`~graph.model.Event.json_text`, in the same order, where
        the caller holds it already (the store's copy, read with the event; None where not):
        making it again was a tenth of a rebuild from the store.

        >>> from graph.model import Event
        >>> WorkspaceIndex().add([Event.model_validate({"id": "c1",
        ...     "time": "2026-11-25T10:03:10Z", "flow": "order", "kind": "call",
        ...     "system": "oms", "target": "erp", "refs": {"oms": "7789"},
        ...     "outcome": {"status": 503, "duration_ms": 30000}})])
        1
        """
        new = 0
        given = iter(texts) if texts is not None else None
        with _no_gc_pauses():
            for event in events:
                text = next(given) if given is not None else None
                if event.id in self._ids:
                    continue
                self._ids[event.id] = len(self._json)
                self._json.append(event.json_text() if text is None else text)
                fact = self._fact(event)
                self._file(event, fact)
                insort(self._system_times.setdefault(event.system, []), fact.time)
                new += 1
        if new:
            self._version += new
            self._last_tally = None
        return new

    def _fact(self, event: Event) -> Fact:
        time = event.time.timestamp()
        flow, system = sys.intern(event.flow), sys.intern(event.system)
        if event.kind == "seen":
            state = sys.intern(event.state) if event.state is not None else None
            return Seen(time, event.id, flow, system, state, event.quantity, self._data_of(event))
        outcome = event.outcome
        assert outcome is not None, "Event guarantees a call's outcome"
        assert event.target is not None, "Event guarantees a call's target"
        call = Call(
            time,
            event.id,
            flow,
            system,
            sys.intern(event.target),
            outcome.status,
            outcome.duration_ms,
            self._error(outcome.error),
            not event.refs,
        )
        self._logs.add(call)
        return call

    def _data_of(self, event: Event) -> tuple[tuple[str, str], ...] | None:
        # Orders repeat the same few totals, currencies and line counts: one copy of each
        # (it was a third of the memory an order's event took).
        data = canonical_data(event.data)
        return None if data is None else _one_copy(self._data, data, _MAX_INTERNED_DATA)

    def _error(self, error: str | None) -> str | None:
        # A failing integration repeats the same message thousands of times: keep one copy.
        return None if error is None else _one_copy(self._errors, error, _MAX_INTERNED_ERRORS)

    def _file(self, event: Event, fact: Fact) -> None:
        if not event.refs:
            return
        journeys = self._journeys
        keys = [journeys.key(ns, value) for ns, value in event.refs.items()]
        root = journeys.find(keys[0])
        for key in keys[1:]:
            kept, absorbed = journeys.union(root, key)
            if kept != absorbed:
                moved = self._facts.pop(absorbed, None)
                if moved:
                    self._facts.setdefault(kept, []).extend(moved)
                self._verdicts.pop(absorbed, None)
                self._verdicts.pop(kept, None)
            root = kept
        self._facts.setdefault(root, []).append(fact)
        self._verdicts.pop(root, None)

    # -- judging ---------------------------------------------------------------------------

    def _judged(self, plan: Plan, as_of: float) -> Iterator[tuple[int, JourneyVerdict]]:
        """Every journey's verdict as of ``as_of``, reusing those still valid."""
        if plan.key != self._verdicts_plan:
            self._verdicts.clear()
            self._shared_users.clear()
            self._verdicts_plan = plan.key
        if self._logs.shared_version != self._verdicts_shared:
            for root in self._shared_users:
                self._verdicts.pop(root, None)
            self._shared_users.clear()
            self._verdicts_shared = self._logs.shared_version
        cache = self._verdicts
        for root, facts in self._facts.items():
            verdict = cache.get(root)
            if verdict is None or not verdict.lo <= as_of < verdict.hi:
                verdict = judge_journey(facts, plan, Clock(as_of, self._skew), self._logs)
                cache[root] = verdict
                if verdict.uses_shared:
                    self._shared_users.add(root)
            yield root, verdict

    def _tally(self, plan: Plan, as_of: float, window: float) -> Tally:
        key = (self._version, self._logs.shared_version, plan.key, as_of, window)
        if self._last_tally is not None and self._last_tally[0] == key:
            return self._last_tally[1]
        with _no_gc_pauses():
            tally = tally_verdicts(self._judged(plan, as_of), as_of=as_of, window=window)
        self._last_tally = (key, tally)
        return tally

    def _plan(self, topology: Topology, at: float) -> Plan:
        """The topology's plan with the waiting states learned from the journeys held.

        Learning is a pass over every journey, so a large index learns again only once it grew
        by a twentieth or ``as_of`` moved by ten minutes; the plan (and so every cached
        verdict) changes only when what was learned changes.
        """
        base = compile_plan(topology)
        if not any(not r.known for r in base.states.values()):
            return base
        last = self._learned
        if last is not None and last[0] == base.key:
            if len(self._json) < _RELEARN_EVERY_CHANGE_BELOW:
                fresh = last[1] == self._version and last[2] == at
            else:
                fresh = (
                    self._version - last[1] < len(self._json) // 20
                    and abs(at - last[2]) < _RELEARN_AFTER_SECONDS
                )
            if fresh:
                return compile_plan(topology, last[3])
        learned = learn_waiting(self._facts.values(), base, as_of=at)
        self._learned = (base.key, self._version, at, learned)
        return compile_plan(topology, learned)

    def _identify(self, root: int, prefer: tuple[str, ...]) -> EntityRef:
        members = self._journeys.members(root)
        for namespace in prefer:
            values = [value for ns, value in members if ns == namespace]
            if values:
                return EntityRef(namespace=namespace, value=min(values))
        namespace, value = min(members)
        return EntityRef(namespace=namespace, value=value)

    # -- the public questions ----------------------------------------------------------------

    def calls_between(self, *, start: datetime, end: datetime) -> list[Call]:
        """Every call with ``start <= time <= end``, Arbiter's probes included, in time order.

        >>> WorkspaceIndex().calls_between(start=datetime(2026, 11, 25, tzinfo=UTC),
        ...     end=datetime(2026, 11, 26, tzinfo=UTC))
        []
        """
        return self._logs.all_between(_seconds(start), _seconds(end))

    def activity(
        self, *, since: datetime, until: datetime
    ) -> dict[str, tuple[datetime, list[datetime]]]:
        """Per system that sent anything by ``until``: its latest event time then, and the
        times of its events in ``[since, until]`` (oldest first).

        >>> WorkspaceIndex().activity(since=datetime(2026, 11, 25, tzinfo=UTC),
        ...     until=datetime(2026, 11, 26, tzinfo=UTC))
        {}
        """
        lo, hi = _seconds(since), _seconds(until)
        found: dict[str, tuple[datetime, list[datetime]]] = {}
        for system, times in self._system_times.items():
            last = bisect_right(times, hi)
            if last == 0:
                continue
            recent = times[bisect_left(times, lo) : last]
            found[system] = (_at(times[last - 1]), [_at(t) for t in recent])
        return found

    def diagnose(
        self, topology: Topology, *, as_of: datetime, window_seconds: float = 86400
    ) -> Diagnosis:
        """The ranked suspects of the window ending at ``as_of``; none when all is well.

        >>> from graph.model import Topology
        >>> topo = Topology.model_validate({"systems": [
        ...     {"id": "shop", "kind": "woocommerce", "vendor": "Agency"}], "links": []})
        >>> WorkspaceIndex().diagnose(topo, as_of=datetime(2026, 11, 25, tzinfo=UTC)).suspects
        []
        """
        with _no_gc_pauses():
            _plan, _tally, suspects = self._suspects(topology, as_of, window_seconds)
        return Diagnosis(as_of=_utc(as_of), window_seconds=window_seconds, suspects=suspects)

    def _suspects(
        self, topology: Topology, as_of: datetime, window: float
    ) -> tuple[Plan, Tally, list[Suspect]]:
        at = _seconds(as_of)
        plan = self._plan(topology, at)
        tally = self._tally(plan, at, window)
        suspects = rank_suspects(
            tally, plan, self._logs, self._identify, as_of=at, window=window, skew=self._skew
        )
        return plan, tally, suspects

    def link_health(
        self, topology: Topology, *, as_of: datetime, window_seconds: float = 86400
    ) -> list[LinkHealth]:
        """Per link of the topology, in topology order: its status and counts in the window.

        >>> from graph.model import Topology
        >>> topo = Topology.model_validate({"systems": [
        ...     {"id": "shop", "kind": "woocommerce", "vendor": "Agency"},
        ...     {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"}], "links": [
        ...     {"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
        ...      "owner": "BaseLinker", "sla_seconds": 600}]})
        >>> [h.status for h in WorkspaceIndex().link_health(
        ...     topo, as_of=datetime(2026, 11, 25, tzinfo=UTC))]
        ['no_data']
        """
        with _no_gc_pauses():
            plan, tally, suspects = self._suspects(topology, as_of, window_seconds)
            return link_health(
                tally, plan, self._logs, suspects, as_of=_seconds(as_of), window=window_seconds
            )

    def stock_drift(self, topology: Topology, *, as_of: datetime) -> list[StockDrift]:
        """Items whose quantities disagree along a stock flow, oversell risk first.

        >>> from graph.model import Event, Topology
        >>> topo = Topology.model_validate({"systems": [
        ...     {"id": "erp", "kind": "odoo", "vendor": "ERP partner"},
        ...     {"id": "shop", "kind": "woocommerce", "vendor": "Agency"}], "links": [
        ...     {"flow": "stock", "from": "erp", "to": "shop", "initiator": "from",
        ...      "owner": "Agency", "sla_seconds": 900}]})
        >>> index = WorkspaceIndex()
        >>> _ = index.add(Event.model_validate({"id": f"{s}-1", "time": "2026-11-25T10:00:00Z",
        ...     "flow": "stock", "kind": "seen", "system": s, "refs": {"sku": "ABC-1"},
        ...     "quantity": q}) for s, q in [("erp", 3), ("shop", 5)])
        >>> [(d.sku, d.mode, d.oversell_risk) for d in index.stock_drift(
        ...     topo, as_of=datetime(2026, 11, 25, 12, tzinfo=UTC))]
        [('ABC-1', 'mismatch', True)]
        """
        at = _seconds(as_of)
        plan = self._plan(topology, at)
        with _no_gc_pauses():
            return stock_drift(self._judged(plan, at), plan, self._identify, as_of=at)

    def trace(
        self, topology: Topology, namespace: str, value: str, *, as_of: datetime
    ) -> Trace | None:
        """The journey of the entity named ``namespace:value``; None when no event names it.

        >>> from graph.model import Event, Topology
        >>> topo = Topology.model_validate({"systems": [
        ...     {"id": "shop", "kind": "woocommerce", "vendor": "Agency"},
        ...     {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"}], "links": [
        ...     {"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
        ...      "owner": "BaseLinker", "sla_seconds": 600}]})
        >>> index = WorkspaceIndex()
        >>> _ = index.add([
        ...     Event.model_validate({"id": "s1", "time": "2026-11-25T10:00:00Z",
        ...         "flow": "order", "kind": "seen", "system": "shop", "refs": {"shop": "1"}}),
        ...     Event.model_validate({"id": "o1", "time": "2026-11-25T10:01:00Z",
        ...         "flow": "order", "kind": "seen", "system": "oms",
        ...         "refs": {"oms": "9", "shop": "1"}})])
        >>> trace = index.trace(topo, "oms", "9", as_of=datetime(2026, 11, 25, 12, tzinfo=UTC))
        >>> trace.refs, [h.status for h in trace.hops]
        ({'oms': ['9'], 'shop': ['1']}, ['ok'])
        """
        key = self._journeys.lookup(namespace, value)
        if key is None:
            return None
        at = _seconds(as_of)
        root = self._journeys.find(key)
        facts = self._facts.get(root, [])
        facts.sort(key=_by_time)
        events = [json.loads(self._json[self._ids[f.event]]) for f in facts if f.time <= at]
        refs: dict[str, set[str]] = {}
        for event in events:
            for ns, ref in event.get("refs", {}).items():
                refs.setdefault(ns, set()).add(ref)
        if value not in refs.get(namespace, set()):
            return None
        plan = self._plan(topology, at)
        verdict = judge_journey(facts, plan, Clock(at, self._skew), self._logs)
        hops: list[TraceHop] = []
        for flow in verdict.flows:
            for hop in flow.hops:
                spec = plan.links[hop.link]
                hops.append(
                    TraceHop(
                        flow=hop.flow,
                        link=LinkRef(flow=spec.flow, from_=spec.from_, to=spec.to),
                        status=hop.status,
                        mode=hop.mode,
                        responsible=plan.responsible(hop.link, hop.mode) if hop.mode else None,
                        entered=maybe_utc(hop.entered),
                        arrived=maybe_utc(hop.arrived),
                        deadline=maybe_utc(hop.deadline),
                        calls=[call_evidence(c) for c in hop.calls],
                        blamed=hop.blamed,
                        detail=hop.detail,
                        quantities=(
                            {"from": hop.quantities[0], "to": hop.quantities[1]}
                            if hop.quantities is not None
                            else None
                        ),
                    ).with_detail_text(hop.said)
                )
        blamed = [h for h in hops if h.blamed]
        failure = min(blamed, key=lambda h: (h.entered is None, h.entered, h.flow), default=None)
        return Trace(
            as_of=_utc(as_of),
            entity=EntityRef(namespace=namespace, value=value),
            refs={ns: sorted(values) for ns, values in sorted(refs.items())},
            events=events,
            hops=hops,
            failure=failure,
        )

    # -- bounded memory ------------------------------------------------------------------------

    def live_since(
        self, before: datetime, *, keep: Iterable[tuple[str, str]] = ()
    ) -> WorkspaceIndex:
        """A new index holding what a live diagnosis needs once history before ``before`` is
        left to the store: every journey with an event at or after ``before`` (whole, so no
        journey is judged from half its facts), every journey whose last verdict left a hop
        failed or pending, every journey named by an identifier of ``keep`` and not judged
        since (one that was open before a restart), and the calls about no single entity since
        the oldest of those began. Journeys done and quiet since before ``before`` are left out.

        >>> from graph.model import Event
        >>> index = WorkspaceIndex()
        >>> _ = index.add(Event.model_validate({"id": f"{n}", "time": time, "flow": "order",
        ...     "kind": "seen", "system": "shop", "refs": {"shop": n}})
        ...     for n, time in [("1", "2026-11-01T10:00:00Z"), ("2", "2026-11-25T10:00:00Z")])
        >>> len(index.live_since(datetime(2026, 11, 20, tzinfo=UTC)))
        1
        """
        cut = _seconds(before)
        held = self._roots(keep)
        journeys = [
            (root, facts)
            for root, facts in self._facts.items()
            if any(f.time >= cut for f in facts) or self._still_open(root, held)
        ]
        # Link-level calls are evidence for every journey open at their time: those since the
        # oldest kept journey began stay, so a kept journey is judged exactly as before.
        since = min((f.time for _root, facts in journeys for f in facts), default=cut)
        bare = self._logs.bare_since(min(since, cut))
        # The kept facts and texts are taken over as they are (they never change), not made
        # again from each event: that took most of a trim's time, with the index's lock held.
        fresh = WorkspaceIndex(skew_tolerance_seconds=self._skew)
        fresh._errors = dict(self._errors)
        fresh._data = dict(self._data)
        for root, facts in journeys:
            members = self._journeys.members(root)
            new = fresh._journeys.key(*members[0])
            for namespace, value in members[1:]:
                new, _absorbed = fresh._journeys.union(new, fresh._journeys.key(namespace, value))
            fresh._facts[new] = list(facts)
        kept = [fact for _root, facts in journeys for fact in facts]
        kept += bare
        for fact in kept:
            fresh._ids[fact.event] = len(fresh._json)
            fresh._json.append(self._json[self._ids[fact.event]])
        # Each call log and system's times made whole and sorted once (journey by journey,
        # each fact was put in the middle of them: most of a trim's time).
        fresh._derive(kept)
        fresh._version = len(fresh._json)
        return fresh

    def _derive(self, facts: list[Fact]) -> None:
        """The call logs and each system's times of ``facts``, given in any order."""
        calls = [fact for fact in facts if isinstance(fact, Call)]
        self._logs = CallLogs.of(calls, shared_version=len(calls))
        self._system_times = {}
        for fact in facts:
            system = fact.caller if isinstance(fact, Call) else fact.system
            self._system_times.setdefault(system, []).append(fact.time)
        for times in self._system_times.values():
            times.sort()  # each apart: one sort of all the facts held the GIL 0.2 s

    def open_before(
        self, before: datetime, *, keep: Iterable[tuple[str, str]] = ()
    ) -> list[tuple[str, str]]:
        """One identifier (the least) of each journey quiet since before ``before`` that
        :meth:`live_since` keeps: what a restart must read back from the store so that it
        diagnoses as before.

        >>> from graph.model import Event
        >>> index = WorkspaceIndex()
        >>> _ = index.add([Event.model_validate({"id": "1", "time": "2026-11-01T10:00:00Z",
        ...     "flow": "order", "kind": "seen", "system": "shop", "refs": {"shop": "1"}})])
        >>> index.open_before(datetime(2026, 11, 20, tzinfo=UTC), keep=[("shop", "1")])
        [('shop', '1')]
        """
        cut = _seconds(before)
        held = self._roots(keep)
        return sorted(
            min(self._journeys.members(root))
            for root, facts in self._facts.items()
            if self._still_open(root, held) and all(f.time < cut for f in facts)
        )

    def _roots(self, refs: Iterable[tuple[str, str]]) -> set[int]:
        journeys = self._journeys
        keys = (journeys.lookup(namespace, value) for namespace, value in refs)
        return {journeys.find(key) for key in keys if key is not None}

    def _still_open(self, root: int, held: set[int]) -> bool:
        """Open at its last verdict, or held open before (``held``) and not judged since."""
        return self._open(root) or (root in held and root not in self._verdicts)

    def _open(self, root: int) -> bool:
        """Whether the journey's last verdict left a hop failed or pending: an order stuck for
        long, quiet since, stays in the diagnosis (and keeps its incident open)."""
        verdict = self._verdicts.get(root)
        return verdict is not None and any(
            hop.status in ("failed", "pending") for flow in verdict.flows for hop in flow.hops
        )

    def earliest(self) -> datetime | None:
        """The time of the oldest event held; None when empty."""
        firsts = [times[0] for times in self._system_times.values() if times]
        return _at(min(firsts)) if firsts else None


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Hold off the cyclic garbage collector for one pass over the index.

    The index holds millions of container objects; every full collection triggered by the
    pass's own allocations walks all of them, which measured 5-8x slower warm diagnoses at a
    few hundred thousand events. A pass creates no reference cycles, so nothing is left
    uncollected: the collector resumes as soon as the pass ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


_by_time = attrgetter("time", "event")
"""Facts' order: by time, then by event id (the same whatever order they came in)."""


def _seconds(moment: datetime) -> float:
    # A naive as_of is taken as UTC rather than the server's local zone.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
