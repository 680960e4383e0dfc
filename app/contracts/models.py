"""The shapes of vendor contracts and running costs, as the API takes and returns them.

Money is a decimal string with at most two decimals (``"2000.00"``), always next to the ISO 4217
currency it is in; amounts in different currencies are never added together anywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Rounded to the cent, half up, and written with two decimals (``1E+3`` → ``1000.00``)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


Money = Annotated[
    Decimal,
    Field(ge=0, max_digits=16, decimal_places=2, description="Decimal string, e.g. '2000.00'."),
    AfterValidator(cents),
]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    Field(description="ISO 4217 code, e.g. PLN, EUR.", examples=["PLN"]),
]
VendorName = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Penalty(_In):
    """What one breach costs the vendor, and the most a month may cost it.

    A breach owes ``per_breach`` + ``fee_percent`` of the monthly fee + ``per_hour_beyond``
    for every hour beyond the promised time (for availability: beyond the downtime the promise
    allows). The month's sum is cut to the lower of the caps given.
    """

    per_breach: Money = Field(default=Decimal(0), description="Fixed sum per breach.")
    per_hour_beyond: Money = Field(
        default=Decimal(0), description="Sum per hour beyond the promised time."
    )
    started_hours: bool = Field(
        default=False,
        description="Count every started hour as a whole one (else hours are pro rata).",
    )
    fee_percent: Percent = Field(
        default=Decimal(0), description="Percentage of the monthly fee owed per breach."
    )
    cap_amount: Money | None = Field(default=None, description="Most owed per month.")
    cap_fee_percent: Percent | None = Field(
        default=None, description="Most owed per month, as a percentage of the monthly fee."
    )


class ContractIn(_In):
    """A vendor's promises and the penalty for breaking them (every promise is optional)."""

    response_minutes: float | None = Field(
        default=None,
        gt=0,
        le=525_600,
        description="Promised time from an incident's opening to its acknowledgement.",
    )
    resolution_minutes: float | None = Field(
        default=None,
        gt=0,
        le=525_600,
        description="Promised time from an incident's opening to the return of health.",
    )
    availability_percent: Decimal | None = Field(
        default=None,
        gt=0,
        le=100,
        max_digits=7,
        decimal_places=4,
        description="Promised share of each calendar month (UTC) without an outage the "
        "vendor answers for.",
    )
    monthly_fee: Money = Field(default=Decimal(0), description="What the service costs a month.")
    currency: Currency
    penalty: Penalty = Field(default_factory=Penalty)
    reference: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="The contract's number or name, shown in the report."
    )

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Rules across fields, each with the field it names (pydantic's own are per field)."""
        found: list[tuple[tuple[str, ...], str]] = []
        if self.monthly_fee == 0:
            if self.penalty.fee_percent > 0:
                found.append(
                    (
                        ("penalty", "fee_percent"),
                        "a percentage of the fee needs a monthly_fee above 0",
                    )
                )
            if self.penalty.cap_fee_percent is not None:
                found.append(
                    (
                        ("penalty", "cap_fee_percent"),
                        "a cap in percent of the fee needs a monthly_fee above 0",
                    )
                )
        return found


class Contract(ContractIn):
    vendor: str
    updated_at: str = Field(description="RFC 3339 moment of the last change.")


class OtherCost(_In):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    per_hour: Money


class CostsIn(_In):
    """What keeps being spent by the hour whether customers can order or not."""

    currency: Currency
    advertising_per_hour: Money | None = Field(
        default=None, description="Advertising spend per hour."
    )
    advertising_daily_budget: Money | None = Field(
        default=None, description="Or: the daily advertising budget, spread over 24 hours."
    )
    other: list[OtherCost] = Field(
        default_factory=list, max_length=50, description="Other hourly costs (staff, fees...)."
    )

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        if self.advertising_per_hour is not None and self.advertising_daily_budget is not None:
            return [
                (
                    ("advertising_daily_budget",),
                    "give advertising_per_hour or advertising_daily_budget, not both",
                )
            ]
        return []

    @property
    def per_hour(self) -> Decimal:
        advertising = self.advertising_per_hour
        if advertising is None and self.advertising_daily_budget is not None:
            advertising = self.advertising_daily_budget / 24
        return (advertising or Decimal(0)) + sum((o.per_hour for o in self.other), Decimal(0))


class Costs(CostsIn):
    per_hour_total: Decimal = Field(description="Everything per hour, in ``currency``.")
    updated_at: str
