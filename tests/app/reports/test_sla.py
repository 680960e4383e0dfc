"""SLA reports over a period that held one ERP outage: JSON and CSV."""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

import pytest

from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings
from tests.app.incidents.test_lifecycle import erp_outage
from tests.scenarios import STANDARD_TOPOLOGY_JSON

__all__ = ["arbiter", "arbiter_settings"]  # fixtures (tests.app.incidents.fixtures)

ERP_PARTNER = 'ERP partner, "Sp. z o.o."'  # a comma and quotes: the CSV must quote them


@pytest.fixture
def outage(arbiter: Arbiter) -> dict[str, Any]:
    """An ERP outage opened at +3300 s and resolved at +6000 s, in a 3-hour period."""
    topology = copy.deepcopy(STANDARD_TOPOLOGY_JSON)
    topology["systems"][2]["vendor"] = ERP_PARTNER
    topology["links"][1]["owner"] = ERP_PARTNER
    response = arbiter.client.put(f"{arbiter.base}/topology", json=topology)
    assert response.status_code == 200, response.text
    arbiter.world.busy(150, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)
    for moment in (3300, 4300, 5000, 6000):
        arbiter.evaluate(moment)
    [incident] = arbiter.incidents(status="resolved")
    return incident


def period(arbiter: Arbiter) -> dict[str, str]:
    return {
        "since": arbiter.world.time(0).isoformat(),
        "until": arbiter.world.time(10_800).isoformat(),
    }


def test_json_report(arbiter: Arbiter, outage: dict[str, Any]) -> None:
    response = arbiter.client.get(f"{arbiter.base}/reports/sla", params=period(arbiter))
    assert response.status_code == 200, response.text
    report = response.json()
    links = {
        f"{x['link']['from']}:{x['link']['to']}": x
        for x in report["links"]
        if x["link"]["flow"] == "order"
    }
    erp = links["oms:erp"]
    assert erp["availability"] == pytest.approx(1 - 2700 / 10_800)
    assert erp["downtime_seconds"] == pytest.approx(2700)
    assert erp["incidents"] == 1
    assert erp["entities_affected"] == outage["peak_affected"]
    assert erp["sla_breaches"] >= 40
    assert erp["entities_on_time"] > 100
    assert 0 < erp["compliance"] < 1
    shop = links["shop:oms"]
    assert (shop["availability"], shop["incidents"]) == (1.0, 0)

    vendors = {v["vendor"]: v for v in report["vendors"]}
    assert set(vendors) == {"BaseLinker", "Shop agency", ERP_PARTNER}
    partner = vendors[ERP_PARTNER]
    assert partner["incidents"] == 1
    assert partner["mean_time_to_resolve_seconds"] == pytest.approx(2700)
    assert partner["mean_time_to_detect_seconds"] == pytest.approx(
        outage["time_to_detect_seconds"], abs=0.1
    )
    assert partner["links_owned"] == 1
    assert vendors["BaseLinker"]["incidents"] == 0

    [incident] = report["incidents"]
    assert incident["id"] == outage["id"]
    assert incident["link"] == "order:oms:erp"
    assert incident["time_to_resolve_seconds"] == pytest.approx(2700)

    # A period that ends before the outage holds none of it.
    early = {"since": period(arbiter)["since"], "until": arbiter.world.time(3000).isoformat()}
    quiet = arbiter.client.get(f"{arbiter.base}/reports/sla", params=early).json()
    assert quiet["incidents"] == []
    assert all(x["availability"] == 1.0 for x in quiet["links"])


def test_csv_report(arbiter: Arbiter, outage: dict[str, Any]) -> None:
    response = arbiter.client.get(
        f"{arbiter.base}/reports/sla", params=period(arbiter) | {"format": "csv"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["scope", "name", "vendor", "availability"]
    assert all(len(row) == len(header) for row in body)
    records = [dict(zip(header, row, strict=True)) for row in body]
    assert [r["scope"] for r in records].count("link") == 4
    assert [r["scope"] for r in records].count("vendor") == 3
    [incident] = [r for r in records if r["scope"] == "incident"]
    assert incident["vendor"] == ERP_PARTNER  # quoted and read back intact
    assert incident["name"] == "order:oms:erp"
    assert float(incident["mean_time_to_resolve_seconds"]) == pytest.approx(2700)
    assert incident["url"].endswith(f"/incidents/{outage['id']}")
    erp = next(r for r in records if r["scope"] == "link" and r["name"] == "order:oms:erp")
    assert float(erp["availability"]) == pytest.approx(0.75)


def test_report_errors(arbiter: Arbiter) -> None:
    base = f"{arbiter.base}/reports/sla"
    backwards = {"since": "2026-11-25T12:00:00Z", "until": "2026-11-25T10:00:00Z"}
    assert arbiter.client.get(base, params=backwards).status_code == 422
    assert arbiter.client.get(base, params={"format": "xml"}).status_code == 422
    assert arbiter.client.get(base, params={"since": "2020-01-01T00:00:00Z"}).status_code == 422
    assert arbiter.client.get("/api/v1/workspaces/nobody/reports/sla").status_code == 404
    assert arbiter.client.get(base).status_code == 200  # this month so far
