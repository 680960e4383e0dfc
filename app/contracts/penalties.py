"""What a vendor owes under its contract for a period: breaches, the formula applied, the cap.

Pure code over the incidents the vendor answers for (no store, no clock), so every rule can be
checked with a handful of made-up incidents:

- **response**: from an incident's opening (when Arbiter alerted) to its acknowledgement; an
  incident never acknowledged responded at the latest when health returned.
- **resolution**: from the opening to the return of health (``healthy_since`` of a resolved
  incident: the quiet time Arbiter waits before resolving is not the vendor's).
- **availability**: per calendar month (UTC), the share of the month (cut to the report's
  period) without an outage of the vendor; an outage runs from the first failure evidence to
  the return of health.

An incident counts for response and resolution in the month it opened; one still open at the
end of the period is measured up to then and marked ``ongoing``. Each breach owes the fixed
sum, the percentage of the monthly fee, and the hourly rate for the time beyond the promise
(for availability: beyond the downtime the promise allows); the month's sum is cut to the cap.
All of it in the contract's currency; a period without incidents owes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from app.contracts.models import ContractIn, cents

BreachKind = Literal["response", "resolution", "availability"]


@dataclass(frozen=True)
class Outage:
    """One incident as a contract sees it."""

    incident_id: int
    url: str
    where: str
    mode: str
    responsible: str
    summary: str
    first_failure: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    restored_at: datetime | None
    """When health returned (None while the incident is open)."""
    entities: tuple[str, ...] = ()
    """A sample of the entities it affected, as ``namespace:value``."""

    def end(self, as_of: datetime) -> datetime:
        return min(self.restored_at, as_of) if self.restored_at is not None else as_of


class Amount(BaseModel):
    currency: str
    amount: Decimal = Field(description="Decimal string in the currency.")


class OutageEvidence(BaseModel):
    incident_id: int
    url: str
    where: str = Field(description="The link (flow:from:to) or 'system <id>' that failed.")
    mode: str
    summary: str
    first_failure: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    restored_at: datetime | None = Field(description="Health returned; null while open.")
    entities: list[str] = Field(description="A sample of the entities affected.")


class Breach(BaseModel):
    kind: BreachKind
    promised_seconds: float
    measured_seconds: float
    hours_beyond: Decimal = Field(description="Hours counted beyond the promise.")
    ongoing: bool = Field(description="Still growing: the incident was open at the period end.")
    amount: Decimal
    formula: str = Field(description="The penalty formula with this breach's figures.")
    incidents: list[OutageEvidence]


class VendorPenalty(BaseModel):
    vendor: str
    reference: str | None = Field(description="The contract's number or name.")
    period_start: datetime
    period_end: datetime
    partial: bool = Field(description="The period covers only part of the calendar month.")
    currency: str
    monthly_fee: Decimal
    response_promised_seconds: float | None
    resolution_promised_seconds: float | None
    availability_promised: float | None = Field(description="Share, e.g. 0.995.")
    availability: float = Field(description="Share of the period without the vendor's outage.")
    downtime_seconds: float
    allowed_downtime_seconds: float | None
    incidents: int = Field(description="Incidents of the vendor opened in the period.")
    breaches: list[Breach]
    total: Decimal = Field(description="Sum of the breaches before the cap.")
    cap: Decimal | None
    capped: bool
    owed: Decimal


def months(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """The calendar months (UTC) of ``[since, until)``, the first and last cut to it.

    >>> [(a.day, b.month, b.day) for a, b in months(datetime(2026, 10, 20, tzinfo=UTC),
    ...     datetime(2026, 12, 5, tzinfo=UTC))]
    [(20, 11, 1), (1, 12, 1), (1, 12, 5)]
    """
    found: list[tuple[datetime, datetime]] = []
    start = since.astimezone(UTC)
    while start < until:
        first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
        end = min(following, until)
        found.append((start, end))
        start = end
    return found


def month_length(start: datetime) -> float:
    first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return ((first + timedelta(days=32)).replace(day=1) - first).total_seconds()


def union_seconds(spans: Iterable[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one span (overlaps counted once)."""
    total, reached = 0.0, None
    for start, stop in sorted(spans):
        if reached is not None and start < reached:
            start = reached
        if stop > start:
            total += (stop - start).total_seconds()
            reached = stop
    return total


def _hours(seconds: float, started: bool) -> Decimal:
    hours = max(seconds, 0.0) / 3600
    return Decimal(math.ceil(hours)) if started else cents(Decimal(repr(hours)))


def _evidence(outage: Outage) -> OutageEvidence:
    return OutageEvidence.model_validate(outage, from_attributes=True)


def _breach(
    terms: ContractIn,
    kind: BreachKind,
    promised: float,
    measured: float,
    ongoing: bool,
    outages: Sequence[Outage],
) -> Breach:
    penalty = terms.penalty
    hours = _hours(measured - promised, penalty.started_hours)
    fee_share = cents(terms.monthly_fee * penalty.fee_percent / 100)
    hourly = cents(penalty.per_hour_beyond * hours)
    amount = cents(penalty.per_breach + fee_share + hourly)
    parts = []
    if penalty.per_breach:
        parts.append(f"{penalty.per_breach:.2f}")
    if penalty.fee_percent:
        parts.append(f"{penalty.fee_percent.normalize():f}% of {terms.monthly_fee:.2f}")
    if penalty.per_hour_beyond:
        parts.append(f"{penalty.per_hour_beyond:.2f}/h x {hours} h")
    formula = f"{' + '.join(parts) or '0'} = {amount:.2f} {terms.currency}"
    return Breach(
        kind=kind,
        promised_seconds=promised,
        measured_seconds=round(measured, 3),
        hours_beyond=hours,
        ongoing=ongoing,
        amount=amount,
        formula=formula,
        incidents=[_evidence(o) for o in outages],
    )


def _time_breaches(terms: ContractIn, opened: Sequence[Outage], as_of: datetime) -> list[Breach]:
    found: list[Breach] = []
    for outage in opened:
        if terms.response_minutes is not None:
            candidates = [t for t in (outage.acknowledged_at, outage.restored_at) if t is not None]
            responded = min(candidates) if candidates else None
            measured = ((responded or as_of) - outage.opened_at).total_seconds()
            promised = terms.response_minutes * 60
            if measured > promised:
                found.append(
                    _breach(terms, "response", promised, measured, responded is None, [outage])
                )
        if terms.resolution_minutes is not None:
            measured = (outage.end(as_of) - outage.opened_at).total_seconds()
            promised = terms.resolution_minutes * 60
            if measured > promised:
                ongoing = outage.restored_at is None or outage.restored_at > as_of
                found.append(_breach(terms, "resolution", promised, measured, ongoing, [outage]))
    return found


def vendor_penalties(
    vendor: str,
    terms: ContractIn,
    outages: Sequence[Outage],
    *,
    since: datetime,
    until: datetime,
) -> list[VendorPenalty]:
    """Per calendar month of ``[since, until)``: the vendor's breaches and what it owes.

    ``outages`` may hold any vendor's incidents: only those ``vendor`` answers for count.
    ``until`` is also the moment open incidents are measured to (never after now).
    """
    mine = [o for o in outages if o.responsible.casefold() == vendor.casefold()]
    cap_options = [terms.penalty.cap_amount] if terms.penalty.cap_amount is not None else []
    if terms.penalty.cap_fee_percent is not None:
        cap_options.append(cents(terms.monthly_fee * terms.penalty.cap_fee_percent / 100))
    cap = min(cap_options) if cap_options else None
    found: list[VendorPenalty] = []
    for start, end in months(since, until):
        opened = sorted((o for o in mine if start <= o.opened_at < end), key=lambda o: o.opened_at)
        # Measured to the end of the report, not of the month: an incident opened on the
        # 31st is the vendor's until it is answered, in the month it opened.
        breaches = _time_breaches(terms, opened, until)
        down = [o for o in mine if o.first_failure < end and o.end(end) > start]
        spans = [(max(o.first_failure, start), min(o.end(end), end)) for o in down]
        downtime = union_seconds(spans)
        length = (end - start).total_seconds()
        allowed = None
        if terms.availability_percent is not None:
            allowed = float(1 - terms.availability_percent / 100) * length
            if downtime > allowed:
                ongoing = any(o.restored_at is None or o.restored_at > end for o in down)
                breaches.append(_breach(terms, "availability", allowed, downtime, ongoing, down))
        total = cents(sum((b.amount for b in breaches), Decimal(0)))
        owed = min(total, cap) if cap is not None else total
        found.append(
            VendorPenalty(
                vendor=vendor,
                reference=terms.reference,
                period_start=start,
                period_end=end,
                partial=length < month_length(start),
                currency=terms.currency,
                monthly_fee=terms.monthly_fee,
                response_promised_seconds=(
                    terms.response_minutes * 60 if terms.response_minutes is not None else None
                ),
                resolution_promised_seconds=(
                    terms.resolution_minutes * 60 if terms.resolution_minutes is not None else None
                ),
                availability_promised=(
                    float(terms.availability_percent / 100)
                    if terms.availability_percent is not None
                    else None
                ),
                availability=round(1 - downtime / length, 6) if length > 0 else 1.0,
                downtime_seconds=downtime,
                allowed_downtime_seconds=allowed,
                incidents=len(opened),
                breaches=breaches,
                total=total,
                cap=cap,
                capped=cap is not None and total > cap,
                owed=owed,
            )
        )
    return found


def totals(amounts: Iterable[Amount]) -> list[Amount]:
    """Sums per currency, never across currencies, in currency order.

    >>> totals([Amount(currency="PLN", amount=Decimal("1.50")),
    ...         Amount(currency="EUR", amount=Decimal("2")),
    ...         Amount(currency="PLN", amount=Decimal("3"))])
    [Amount(currency='EUR', amount=Decimal('2')), Amount(currency='PLN', amount=Decimal('4.50'))]
    """
    sums: dict[str, Decimal] = {}
    for item in amounts:
        sums[item.currency] = sums.get(item.currency, Decimal(0)) + item.amount
    return [Amount(currency=c, amount=sums[c]) for c in sorted(sums)]
