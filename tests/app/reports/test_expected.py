"""Orders the shop missed while it was down: a range from the same hours of past weeks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.reports.expected import expected_count
from app.reports.impact import missed_orders
from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings

__all__ = ["arbiter", "arbiter_settings"]  # fixtures (tests.app.incidents.fixtures)


def test_the_range_widens_with_fewer_weeks_and_holds_the_usual_count() -> None:
    four = expected_count([10, 12, 9, 11])
    one = expected_count([10])
    assert four is not None
    assert one is not None
    assert four.low < four.usual < four.high
    assert one.high - one.low > four.high - four.low  # one week says less than four
    quiet = expected_count([0, 0, 0, 0])
    assert quiet is not None
    assert (quiet.low, quiet.high) == (0, 1)  # four quiet weeks cannot rule out one order
    assert expected_count([]) is None


def _orders(arbiter: Arbiter, first: int, start: float, count: int, every: float) -> None:
    for i in range(count):
        arbiter.world.order(first + i, at=start + i * every)


def test_missed_orders_against_past_weeks(arbiter: Arbiter) -> None:
    week = 7 * 24 * 3600.0
    outage = (4 * week + 3600, 4 * week + 7200)  # one hour, four weeks after the world's start
    for w in range(4):  # ten orders in the same hour of each past week
        _orders(arbiter, 1000 * (w + 1), outage[0] - (4 - w) * week + 60, 10, 300)
    _orders(arbiter, 9000, outage[0] + 60, 2, 300)  # two came in while the shop struggled
    # A week counts only when the store holds the day before it too (orders seen then are
    # not new in the hour compared): the store's history starts two days before the first.
    arbiter.world.stock("erp", "ABC-1", -2 * 86400.0, 5)
    arbiter.post()
    since, until = arbiter.world.time(outage[0]), arbiter.world.time(outage[1])
    with arbiter.runtime.engine.connect() as connection:
        missed, note = missed_orders(connection, arbiter.ws, "shop", since, until)
        assert note is None
        assert missed is not None
        assert (missed.weeks_compared, missed.usual, missed.arrived) == (4, 10.0, 2)
        assert missed.expected_low < 10 < missed.expected_high
        assert missed.missed_low == missed.expected_low - 2
        assert missed.missed_high == missed.expected_high - 2
        assert missed.value_low[0].currency == "PLN"
        assert float(missed.value_high[0].amount) == pytest.approx(199 * missed.missed_high)
        # Before the store holds a past week there is nothing to compare with: no figure.
        early = arbiter.world.time(0)
        nothing, why = missed_orders(
            connection, arbiter.ws, "shop", early, early + timedelta(hours=1)
        )
    assert nothing is None
    assert why is not None
