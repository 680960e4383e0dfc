"""Each penalty formula, the caps, currencies, months, and a period that owes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.contracts.models import ContractIn
from app.contracts.penalties import Amount, Outage, totals, vendor_penalties

NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
H = timedelta(hours=1)


def contract(**terms: Any) -> ContractIn:
    base: dict[str, Any] = {"currency": "PLN", "monthly_fee": "2000.00"}
    return ContractIn.model_validate(base | terms)


def outage(
    opened: datetime,
    *,
    restored: timedelta | None = 2 * H,
    acknowledged: timedelta | None = None,
    vendor: str = "ERP partner",
    detect: timedelta = timedelta(minutes=5),
    incident_id: int = 1,
) -> Outage:
    return Outage(
        incident_id=incident_id,
        url=f"https://arbiter.example/w/acme/incidents/{incident_id}",
        where="order:oms:erp",
        mode="unavailable",
        responsible=vendor,
        summary="orders stuck between oms and erp",
        first_failure=opened - detect,
        opened_at=opened,
        acknowledged_at=opened + acknowledged if acknowledged is not None else None,
        restored_at=opened + restored if restored is not None else None,
        entities=("shop:100045",),
    )


def test_a_period_without_incidents_owes_nothing() -> None:
    terms = contract(
        response_minutes=30,
        resolution_minutes=60,
        availability_percent="99.9",
        penalty={"per_breach": "100", "fee_percent": "10", "per_hour_beyond": "5"},
    )
    [month] = vendor_penalties("ERP partner", terms, [], since=NOV, until=DEC)
    assert (month.breaches, month.total, month.owed) == ([], Decimal(0), Decimal(0))
    assert (month.availability, month.downtime_seconds, month.partial) == (1.0, 0.0, False)
    # Another vendor's outage is not this one's.
    other = [outage(NOV + 24 * H, vendor="BaseLinker", restored=30 * H)]
    [month] = vendor_penalties("ERP partner", terms, other, since=NOV, until=DEC)
    assert month.owed == 0
    assert month.breaches == []


def test_fixed_sum_per_breach() -> None:
    terms = contract(response_minutes=30, penalty={"per_breach": "150.00"})
    incidents = [
        outage(NOV + 24 * H, acknowledged=timedelta(minutes=45), incident_id=1),
        outage(NOV + 48 * H, acknowledged=timedelta(minutes=20), incident_id=2),  # in time
        outage(NOV + 72 * H, acknowledged=None, restored=H, incident_id=3),  # responded by fixing
    ]
    [month] = vendor_penalties("ERP partner", terms, incidents, since=NOV, until=DEC)
    assert [(b.kind, b.incidents[0].incident_id) for b in month.breaches] == [
        ("response", 1),
        ("response", 3),
    ]
    assert [b.measured_seconds for b in month.breaches] == [2700, 3600]
    assert month.owed == Decimal("300.00")
    assert month.breaches[0].formula == "150.00 = 150.00 PLN"
    assert month.incidents == 3


@pytest.mark.parametrize(
    ("started", "hours", "owed"), [(False, "2.50", "125.00"), (True, "3", "150.00")]
)
def test_rate_per_hour_beyond_the_promise(started: bool, hours: str, owed: str) -> None:
    terms = contract(
        resolution_minutes=60, penalty={"per_hour_beyond": "50", "started_hours": started}
    )
    incidents = [outage(NOV + 24 * H, restored=timedelta(hours=3, minutes=30))]
    [month] = vendor_penalties("ERP partner", terms, incidents, since=NOV, until=DEC)
    [breach] = month.breaches
    assert (breach.kind, breach.hours_beyond, breach.amount) == (
        "resolution",
        Decimal(hours),
        Decimal(owed),
    )
    assert breach.formula == f"50.00/h x {hours} h = {owed} PLN"
    assert breach.incidents[0].entities == ["shop:100045"]


def test_percentage_of_the_monthly_fee() -> None:
    terms = contract(resolution_minutes=60, penalty={"fee_percent": "5", "per_breach": "10"})
    [month] = vendor_penalties("ERP partner", terms, [outage(NOV + H)], since=NOV, until=DEC)
    [breach] = month.breaches
    assert breach.amount == Decimal("110.00")  # 10 + 5 % of 2000
    assert breach.formula == "10.00 + 5% of 2000.00 = 110.00 PLN"


def test_availability_below_the_promise() -> None:
    # 99.5 % of November (30 days) allows 3.6 h; two overlapping outages make 5 h of downtime.
    terms = contract(availability_percent="99.5", penalty={"per_hour_beyond": "100"})
    first = outage(NOV + 24 * H, restored=3 * H, detect=timedelta(0), incident_id=1)
    second = outage(NOV + 26 * H, restored=3 * H, detect=timedelta(0), incident_id=2)
    [month] = vendor_penalties("ERP partner", terms, [first, second], since=NOV, until=DEC)
    assert month.downtime_seconds == 5 * 3600
    assert month.allowed_downtime_seconds == pytest.approx(3.6 * 3600)
    assert month.availability == pytest.approx(1 - 5 / 720)
    [breach] = month.breaches
    assert breach.kind == "availability"
    assert breach.hours_beyond == Decimal("1.40")
    assert breach.amount == Decimal("140.00")
    assert [i.incident_id for i in breach.incidents] == [1, 2]
    # Within the promise: nothing.
    short = outage(NOV + 24 * H, restored=3 * H, detect=timedelta(0))
    [month] = vendor_penalties("ERP partner", terms, [short], since=NOV, until=DEC)
    assert month.breaches == []
    assert month.owed == 0


def test_caps() -> None:
    many = [outage(NOV + i * 24 * H, restored=10 * H, incident_id=i) for i in range(1, 6)]
    by_amount = contract(
        resolution_minutes=60, penalty={"per_breach": "300", "cap_amount": "1000.00"}
    )
    [month] = vendor_penalties("ERP partner", by_amount, many, since=NOV, until=DEC)
    assert (month.total, month.cap, month.owed, month.capped) == (
        Decimal("1500.00"),
        Decimal("1000.00"),
        Decimal("1000.00"),
        True,
    )
    # Both caps: the lower one holds (25 % of 2000 = 500).
    both = contract(
        resolution_minutes=60,
        penalty={"per_breach": "300", "cap_amount": "1000.00", "cap_fee_percent": "25"},
    )
    [month] = vendor_penalties("ERP partner", both, many, since=NOV, until=DEC)
    assert (month.cap, month.owed) == (Decimal("500.00"), Decimal("500.00"))
    # Under the cap nothing is cut.
    [month] = vendor_penalties("ERP partner", both, many[:1], since=NOV, until=DEC)
    assert (month.owed, month.capped) == (Decimal("300"), False)


def test_months_are_separate_and_open_incidents_are_measured_to_the_end() -> None:
    terms = contract(resolution_minutes=60, penalty={"per_hour_beyond": "10"})
    late_october = outage(NOV - 2 * H, restored=5 * H, incident_id=1)
    open_now = outage(DEC + 24 * H, restored=None, incident_id=2)
    since, until = NOV - 24 * H, DEC + 30 * H
    october, november, december = vendor_penalties(
        "erp PARTNER", terms, [late_october, open_now], since=since, until=until
    )
    assert (october.partial, november.partial, december.partial) == (True, False, True)
    assert [b.incidents[0].incident_id for b in october.breaches] == [1]
    assert october.breaches[0].measured_seconds == 5 * 3600  # across the month's end
    assert november.breaches == []  # the October incident counts in the month it opened
    [ongoing] = december.breaches
    assert ongoing.ongoing
    assert ongoing.measured_seconds == 6 * 3600
    assert ongoing.amount == Decimal("50.00")


def test_amounts_of_different_currencies_are_never_added() -> None:
    found = totals(
        [
            Amount(currency="PLN", amount=Decimal("100.00")),
            Amount(currency="EUR", amount=Decimal("30.00")),
            Amount(currency="PLN", amount=Decimal("0.50")),
        ]
    )
    assert [(a.currency, a.amount) for a in found] == [
        ("EUR", Decimal("30.00")),
        ("PLN", Decimal("100.50")),
    ]
