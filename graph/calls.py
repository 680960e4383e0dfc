"""Call logs per (flow, caller, target), sorted by time, for evidence that spans entities.

Three questions need calls beyond one journey's own: link-level evidence (a list poll answered
503 explains every order stuck on that link meanwhile), Arbiter's probes of a system, and a
link's call error rate for the dashboard. Each is a range query by time over one log.

>>> from graph.journeys import Call
>>> logs = CallLogs()
>>> logs.add(Call(60.0, "b", "order", "oms", "shop", 503, 30000.0, "timeout", True))
>>> logs.add(Call(0.0, "a", "order", "oms", "shop", 200, 80.0, None, True))
>>> [c.status for c in logs.bare("order", "oms", "shop", 0.0, 100.0)]
[200, 503]
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from itertools import chain

from graph.journeys import Call
from graph.model import ARBITER_SYSTEM

CallKey = tuple[str, str, str]


class CallLogs:
    """Every call, kept in per-(flow, caller, target) lists sorted by time."""

    def __init__(self) -> None:
        self._bare: dict[CallKey, list[Call]] = {}
        self._entity: dict[CallKey, list[Call]] = {}
        self._probes: dict[str, list[Call]] = {}
        self.shared_version = 0
        """Bumped with every call: bare calls, probes and other entities' calls on a link are
        all evidence a stuck journey may have consulted."""

    @classmethod
    def of(cls, calls: Iterable[Call], *, shared_version: int = 0) -> CallLogs:
        """The logs of ``calls``, given in any order: each log sorted once, not each call put
        in its place (a large index read back from its snapshot, 150,000 calls).

        >>> logs = CallLogs.of([Call(60.0, "b", "order", "oms", "shop", 503, 1.0, None, True),
        ...                     Call(0.0, "a", "order", "oms", "shop", 200, 1.0, None, True)])
        >>> [c.event for c in logs.bare("order", "oms", "shop", 0.0, 100.0)]
        ['a', 'b']
        """
        made = cls()
        for call in calls:
            logs = made._bare if call.bare else made._entity
            logs.setdefault((call.flow, call.caller, call.target), []).append(call)
            if call.caller == ARBITER_SYSTEM:
                made._probes.setdefault(call.target, []).append(call)
        for log in chain(made._bare.values(), made._entity.values(), made._probes.values()):
            log.sort(key=_order)
        made.shared_version = shared_version
        return made

    def copy(self) -> CallLogs:
        """The same logs in lists of their own (the calls, tuples, are shared)."""
        made = CallLogs()
        made._bare = {key: list(log) for key, log in self._bare.items()}
        made._entity = {key: list(log) for key, log in self._entity.items()}
        made._probes = {target: list(log) for target, log in self._probes.items()}
        made.shared_version = self.shared_version
        return made

    def add(self, call: Call) -> None:
        key = (call.flow, call.caller, call.target)
        logs = self._bare if call.bare else self._entity
        _place(logs.setdefault(key, []), call)
        if call.caller == ARBITER_SYSTEM:
            _place(self._probes.setdefault(call.target, []), call)
        self.shared_version += 1

    def bare(self, flow: str, caller: str, target: str, start: float, end: float) -> list[Call]:
        """Calls naming no entity on (flow, caller, target) with ``start <= time <= end``."""
        return _between(self._bare.get((flow, caller, target)), start, end)

    def probes(self, target: str, start: float, end: float) -> list[Call]:
        """Arbiter's own calls to ``target`` (any flow) with ``start <= time <= end``."""
        return _between(self._probes.get(target), start, end)

    def calls(self, flow: str, caller: str, target: str, start: float, end: float) -> list[Call]:
        """All calls on (flow, caller, target) in the range, entity and bare, in time order."""
        key = (flow, caller, target)
        found = _between(self._entity.get(key), start, end) + _between(
            self._bare.get(key), start, end
        )
        found.sort(key=_order)
        return found

    def between(self, caller: str, target: str, start: float, end: float) -> list[Call]:
        """All calls from ``caller`` to ``target`` in the range, whatever their flow, in order.

        A rate limit or an outage is the callee's toward that caller on every flow at once.
        """
        found: list[Call] = []
        for logs in (self._entity, self._bare):
            for (_flow, who, whom), log in logs.items():
                if who == caller and whom == target:
                    found += _between(log, start, end)
        found.sort(key=_order)
        return found

    def all_between(self, start: float, end: float) -> list[Call]:
        """Every call in the range, probes included, in time order."""
        found = [
            call
            for logs in (self._entity, self._bare)
            for log in logs.values()
            for call in _between(log, start, end)
        ]
        found.sort(key=_order)
        return found

    def bare_since(self, start: float) -> list[Call]:
        """Every call naming no entity at or after ``start``, in no particular order."""
        return [call for log in self._bare.values() for call in _between(log, start, math.inf)]

    def outcomes(
        self, flow: str, caller: str, target: str, start: float, end: float
    ) -> tuple[int, int]:
        """How many calls on (flow, caller, target) in the range, and how many failed."""
        key = (flow, caller, target)
        total = failed = 0
        for log in (self._entity.get(key), self._bare.get(key)):
            for call in _between(log, start, end):
                total += 1
                failed += not call.succeeded
        return total, failed

    def keys(self) -> Iterator[CallKey]:
        yield from sorted(set(self._bare) | set(self._entity))


_LAST_ID = "\U0010ffff"


def _order(call: Call) -> tuple[float, str]:
    return call.time, call.event


def _place(log: list[Call], call: Call) -> None:
    """Put ``call`` in its place in ``log``: appended when it is the latest, as it mostly is
    (events arrive, and a trim keeps them, in time order), without the binary search's dozen
    or more calls of the sort key that ``insort`` makes even then.

    >>> log = [Call(float(t), f"c{t}", "order", "oms", "erp", 200, 1.0, None, True) for t in (1, 5)]
    >>> _place(log, Call(9.0, "c9", "order", "oms", "erp", 200, 1.0, None, True))
    >>> _place(log, Call(3.0, "c3", "order", "oms", "erp", 200, 1.0, None, True))
    >>> [c.event for c in log]
    ['c1', 'c3', 'c5', 'c9']
    """
    if not log or _order(log[-1]) <= _order(call):
        log.append(call)
    else:
        insort(log, call, key=_order)


def _between(log: list[Call] | None, start: float, end: float) -> list[Call]:
    if not log:
        return []
    lo = bisect_left(log, (start, ""), key=_order)
    return log[lo : bisect_right(log, (end, _LAST_ID), key=_order)]
