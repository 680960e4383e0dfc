"""The SLA report's money: the incident's impact, the vendor's penalty, the running costs."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest

from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings
from tests.app.reports.test_sla import ERP_PARTNER, outage, period

__all__ = ["arbiter", "arbiter_settings", "outage"]  # fixtures used by name

CONTRACT = {
    "resolution_minutes": 10,
    "availability_percent": "99",
    "monthly_fee": "3000.00",
    "currency": "PLN",
    "penalty": {"per_breach": "50.00", "per_hour_beyond": "100.00", "cap_amount": "200.00"},
    "reference": "UM/17",
}


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def priced(arbiter: Arbiter) -> None:
    for vendor, terms in (
        (ERP_PARTNER, CONTRACT),
        ("BaseLinker", {"currency": "EUR", "response_minutes": 5, "penalty": {"per_breach": "9"}}),
    ):
        response = arbiter.client.put(f"{arbiter.base}/contracts/{quote(vendor)}", json=terms)
        assert response.status_code == 201, response.text
    costs = {
        "currency": "PLN",
        "advertising_daily_budget": "240.00",
        "other": [{"name": "customer service", "per_hour": "20.00"}],
    }
    assert arbiter.client.put(f"{arbiter.base}/costs", json=costs).status_code == 201


def _report(arbiter: Arbiter, **params: str) -> dict[str, Any]:
    response = arbiter.client.get(f"{arbiter.base}/reports/sla", params=period(arbiter) | params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_penalty_impact_and_running_costs(
    arbiter: Arbiter, priced: None, outage: dict[str, Any]
) -> None:
    report = _report(arbiter)
    detail = arbiter.incident(outage["id"])
    restored = _moment(detail["healthy_since"])
    opened, first = _moment(outage["opened_at"]), _moment(outage["first_failure"])

    [incident] = report["incidents"]
    impact = incident["impact"]
    # 40 orders of 199.00 PLN never reached the ERP: all affected, all still stuck.
    assert impact["orders_affected"] == 40
    assert impact["value_affected"] == [{"currency": "PLN", "amount": "7960.00"}]
    assert (impact["orders_stuck"], impact["value_stuck"]) == (40, impact["value_affected"])
    assert (impact["orders_without_value"], impact["orders_unchecked"]) == (0, 0)
    hours = Decimal(repr((restored - first).total_seconds())) / 3600
    spent = (Decimal(30) * hours).quantize(Decimal("0.01"))
    assert impact["running_cost"] == {"currency": "PLN", "amount": str(spent)}
    assert impact["missed_orders"] is None  # the shop took orders all along
    assert report["value_affected"] == impact["value_affected"]
    assert report["running_costs"]["spent"] == impact["running_cost"]

    months = {p["vendor"]: p for p in report["penalties"]}
    erp = months[ERP_PARTNER]
    assert (erp["currency"], erp["reference"], erp["incidents"]) == ("PLN", "UM/17", 1)
    [resolution, *rest] = erp["breaches"]
    assert resolution["kind"] == "resolution"
    measured = (restored - opened).total_seconds()
    assert resolution["measured_seconds"] == pytest.approx(measured)
    beyond = (Decimal(repr(measured - 600)) / 3600).quantize(Decimal("0.01"))
    assert Decimal(resolution["hours_beyond"]) == beyond
    assert Decimal(resolution["amount"]) == Decimal("50.00") + 100 * beyond
    assert resolution["incidents"][0]["incident_id"] == outage["id"]
    assert resolution["incidents"][0]["entities"]  # the evidence behind the line
    # 99 % of a 3-hour period allows 108 s: the outage is far beyond it.
    [availability] = rest
    assert availability["kind"] == "availability"
    assert availability["measured_seconds"] == pytest.approx((restored - first).total_seconds())
    assert erp["total"] == str(Decimal(resolution["amount"]) + Decimal(availability["amount"]))
    assert Decimal(erp["total"]) > 200
    assert erp["owed"] == "200.00"
    assert erp["capped"] is True
    # BaseLinker answered for nothing: it owes nothing, in its own currency.
    assert (months["BaseLinker"]["breaches"], months["BaseLinker"]["owed"]) == ([], "0.00")
    assert report["penalties_owed"] == [
        {"currency": "EUR", "amount": "0.00"},
        {"currency": "PLN", "amount": "200.00"},
    ]
    assert report["vendors_without_contract"] == ["Shop agency"]
    [day] = report["days"]
    assert day["availability"]["BaseLinker"] == 1.0
    assert day["availability"][ERP_PARTNER] < 1.0
    assert day["value_affected"] == impact["value_affected"]


def test_money_in_the_csv(arbiter: Arbiter, priced: None, outage: dict[str, Any]) -> None:
    text = arbiter.client.get(
        f"{arbiter.base}/reports/sla", params=period(arbiter) | {"format": "csv"}
    ).text
    rows = list(csv.DictReader(io.StringIO(text)))
    penalties = [r for r in rows if r["scope"] == "penalty"]
    assert [r["breach"] for r in penalties] == ["resolution", "availability"]
    assert all(r["vendor"] == ERP_PARTNER and r["currency"] == "PLN" for r in penalties)
    assert penalties[0]["incident_ids"] == str(outage["id"])
    assert penalties[0]["formula"].startswith("50.00 + 100.00/h x ")
    owed = {r["vendor"]: r for r in rows if r["scope"] == "penalty_owed"}
    assert (owed[ERP_PARTNER]["amount"], owed["BaseLinker"]["amount"]) == ("200.00", "0.00")
    assert owed["BaseLinker"]["currency"] == "EUR"
    [value] = [r for r in rows if r["scope"] == "incident_value_affected"]
    assert (value["currency"], value["amount"]) == ("PLN", "7960.00")
    [spent] = [r for r in rows if r["scope"] == "running_cost"]
    assert spent["currency"] == "PLN"


def test_a_period_without_incidents_owes_nothing(arbiter: Arbiter, priced: None) -> None:
    arbiter.world.busy(100, start=0, every=60)
    arbiter.evaluate(6000)
    report = _report(arbiter)
    assert report["incidents"] == []
    assert all(p["breaches"] == [] and p["owed"] == "0.00" for p in report["penalties"])
    assert report["value_affected"] == []
    assert report["running_costs"]["spent"] == {"currency": "PLN", "amount": "0.00"}


def test_impact_in_the_incident_payload(arbiter: Arbiter, priced: None) -> None:
    from tests.app.incidents.test_lifecycle import erp_outage

    arbiter.world.busy(150, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)
    arbiter.evaluate(3300)
    [listed] = arbiter.incidents()
    impact = arbiter.incident(listed["id"])["impact"]
    assert impact["outage_end"] is None  # still open: measured up to now
    assert impact["orders_affected"] >= 2
    assert impact["value_stuck"][0]["currency"] == "PLN"
    assert impact["running_cost"]["currency"] == "PLN"


def test_a_failing_impact_leaves_the_report_and_the_incident_answered(
    arbiter: Arbiter, outage: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.reports.impact

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("impact bug")

    monkeypatch.setattr(app.reports.impact, "incident_impact", broken)
    [incident] = _report(arbiter)["incidents"]
    assert incident["impact"] is None
    assert arbiter.incident(outage["id"])["impact"] is None


def test_orders_in_different_currencies_are_summed_apart(arbiter: Arbiter) -> None:
    arbiter.world.busy(150, start=0, every=60)
    for i in range(30):  # the ERP answers 503 to every push; every other order is in EUR
        data = {"total": "50.25", "currency": "EUR", "lines": 1} if i % 2 else None
        arbiter.world.order(
            20_000 + i, at=1800 + i * 30, pushes=(503, 503, 503), erp_after=None, data=data
        )
    arbiter.evaluate(3300)
    [incident] = arbiter.incidents()
    impact = arbiter.incident(incident["id"])["impact"]
    assert impact["orders_affected"] == 30
    assert impact["value_affected"] == [
        {"currency": "EUR", "amount": "753.75"},  # 15 x 50.25
        {"currency": "PLN", "amount": "2985.00"},  # 15 x 199.00
    ]


def test_an_outage_older_than_the_live_index_is_valued_from_the_store(
    arbiter: Arbiter, outage: dict[str, Any]
) -> None:
    # Five days later the shop takes another order: the outage is now older than the live
    # period the index keeps in memory, and its orders are read back from the store.
    arbiter.world.order(99_999, at=5 * 86400)
    arbiter.post()
    runtime = arbiter.runtime
    assert runtime.indexes.live_start(arbiter.ws) > _moment(outage["first_failure"])
    runtime.indexes.drop(arbiter.ws)  # as after a restart: only the live period is loaded
    live, _lock = runtime.indexes.index(arbiter.ws)
    topology = runtime.indexes.topology(arbiter.ws)
    assert live.trace(topology, "shop", "11800", as_of=arbiter.world.time(6000)) is None
    [incident] = _report(arbiter)["incidents"]
    assert incident["impact"]["orders_affected"] == 40
    assert incident["impact"]["orders_unchecked"] == 0
    assert arbiter.incident(outage["id"])["impact"]["value_affected"] == [
        {"currency": "PLN", "amount": "7960.00"}
    ]
