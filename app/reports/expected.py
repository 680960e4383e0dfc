"""How many orders a shop usually takes in a stretch of time, as a range, never one figure.

The same stretch one, two, three and four weeks earlier (same weekday, same hours) gives counts
``c1..cn``. Their sum ``S`` over ``n`` weeks estimates the rate; with Jeffreys' prior the rate
is Gamma(S + 1/2, n), and the count the stretch would have seen is then negative binomial with
``r = S + 1/2`` and ``p = n / (n + 1)``: the Poisson noise of one stretch plus the uncertainty
of the rate learned from a few weeks. Its 5th and 95th percentiles are the range stated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LEVEL = 0.90
"""The share of outcomes the stated range covers."""


@dataclass(frozen=True)
class Expected:
    weeks: int
    usual: float
    """Mean count per week in the same stretch."""
    low: int
    high: int


def _log_pmf(k: int, r: float, p: float) -> float:
    return (
        math.lgamma(k + r) - math.lgamma(k + 1) - math.lgamma(r) + r * math.log(p)
        + k * math.log1p(-p)
    )  # fmt: skip


def expected_count(weekly: Sequence[int], level: float = LEVEL) -> Expected | None:
    """The central ``level`` range of the count expected, from the counts of past weeks.

    >>> expected_count([12, 9, 14, 11])
    Expected(weeks=4, usual=11.5, low=6, high=18)
    >>> expected_count([0, 0])
    Expected(weeks=2, usual=0.0, low=0, high=1)
    >>> expected_count([]) is None
    True
    """
    if not weekly:
        return None
    n, total = len(weekly), sum(weekly)
    r, p = total + 0.5, n / (n + 1)
    tail = (1 - level) / 2
    low, high, cumulative, k = None, None, 0.0, 0
    while high is None:
        cumulative += math.exp(_log_pmf(k, r, p))
        if low is None and cumulative > tail:
            low = k
        if cumulative >= 1 - tail:
            high = k
        k += 1
    assert low is not None
    return Expected(weeks=n, usual=round(total / n, 3), low=low, high=high)
