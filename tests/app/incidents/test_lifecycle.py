"""Incidents against scenarios over time: open, update, escalate, resolve, reopen, thresholds."""

from __future__ import annotations

from typing import Any

import pytest

from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings, with_settings
from tests.scenarios import World

__all__ = ["arbiter", "arbiter_settings"]  # fixtures (tests.app.incidents.fixtures)


def erp_outage(world: World, *, start: float, orders: int, every: float = 30.0) -> None:
    """The ERP answers 503 to every push of ``orders`` orders from ``start`` on."""
    for i in range(orders):
        world.order(
            10_000 + int(start) + i, at=start + i * every, pushes=(503, 503, 503), erp_after=None
        )


def kinds(incident: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in incident["timeline"]]


def test_an_outage_opens_one_incident_that_escalates_and_resolves(arbiter: Arbiter) -> None:
    arbiter.world.busy(150, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)

    assert arbiter.evaluate(2500).opened == ()  # failing orders are still within their SLA

    opened = arbiter.evaluate(3300)
    assert len(opened.opened) == 1
    assert opened.alerts == (("open", opened.opened[0]),)
    [incident] = arbiter.incidents()
    assert incident["link"] == {"flow": "order", "from": "oms", "to": "erp"}
    assert (incident["mode"], incident["responsible"]) == ("unavailable", "ERP partner")
    assert (incident["status"], incident["phase"]) == ("open", "identified")
    assert incident["url"] == f"https://arbiter.example/w/acme/incidents/{incident['id']}"
    assert incident["time_to_detect_seconds"] > 0
    first_affected = incident["affected"]
    assert first_affected >= 2

    again = arbiter.evaluate(3400)
    assert (again.opened, again.alerts) == ((), ())  # nothing new: no repeat, no duplicate

    grown = arbiter.evaluate(4300)
    assert grown.alerts == (("escalate", incident["id"]),)
    escalated = arbiter.incident(incident["id"])
    assert escalated["affected"] >= 2 * first_affected
    assert escalated["escalation"] == 1

    # Orders flow again after the last failure: monitor, then resolve once it held 900 s.
    monitoring = arbiter.evaluate(5000)
    assert monitoring.alerts == ()
    assert arbiter.incident(incident["id"])["phase"] == "monitoring"
    assert arbiter.evaluate(5500).resolved == ()
    resolved = arbiter.evaluate(6000)
    assert resolved.resolved == (incident["id"],)
    assert resolved.alerts == (("resolve", incident["id"]),)

    final = arbiter.incident(incident["id"])
    assert (final["status"], final["phase"]) == ("resolved", "resolved")
    assert final["time_to_resolve_seconds"] == pytest.approx(6000 - 3300)
    assert kinds(final) == ["opened", "escalated", "monitoring", "resolved"]
    assert [e["phase"] for e in final["timeline"]] == [
        "identified",
        "identified",
        "monitoring",
        "resolved",
    ]

    # The stuck orders are still in the window, but nothing new failed: no new incident.
    later = arbiter.evaluate(7000)
    assert (later.opened, later.reopened, later.alerts) == ((), (), ())
    assert len(arbiter.incidents()) == 1
    assert arbiter.incidents(status="open") == []


def test_blocked_links_raise_no_incident(arbiter: Arbiter) -> None:
    """The OMS stops pulling orders: only shop→oms is blamed, never the oms→erp behind it."""
    arbiter.world.busy(30, start=0, every=60)
    for i in range(12):
        arbiter.world.order(20_000 + i, at=1800 + i * 60, pulls=(), oms_after=None)
    for moment in (3000, 3600, 4200):
        arbiter.evaluate(moment)
    [incident] = arbiter.incidents()
    assert incident["link"] == {"flow": "order", "from": "shop", "to": "oms"}
    assert (incident["mode"], incident["responsible"]) == ("missing", "BaseLinker")
    assert incident["phase"] == "investigating"  # nothing says why the OMS did not pull yet


def test_one_stuck_order_is_below_the_threshold(arbiter: Arbiter) -> None:
    arbiter.world.busy(30, start=0, every=60)
    erp_outage(arbiter.world, start=600, orders=1)
    assert arbiter.evaluate(3600).opened == ()
    erp_outage(arbiter.world, start=2400, orders=1)
    assert len(arbiter.evaluate(4000).opened) == 1


@with_settings(incident_min_duration_seconds=3600)
def test_a_failure_must_last_the_minimum_duration(arbiter: Arbiter) -> None:
    arbiter.world.busy(90, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)
    assert arbiter.evaluate(3300).opened == ()  # failing for ~25 min only
    assert arbiter.evaluate(4500).opened == ()
    assert len(arbiter.evaluate(5500).opened) == 1


@with_settings(incident_flap_window_seconds=7200)
def test_a_flapping_link_reopens_its_incident_and_pages_once(arbiter: Arbiter) -> None:
    arbiter.world.busy(200, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=10)
    opened = arbiter.evaluate(3300)
    [incident_id] = opened.opened
    assert opened.alerts == (("open", incident_id),)
    arbiter.evaluate(4000)  # flowing again: monitoring
    assert arbiter.evaluate(5000).alerts == (("resolve", incident_id),)

    erp_outage(arbiter.world, start=5500, orders=10)  # fails again 10 minutes after the resolution
    reopened = arbiter.evaluate(7000)
    assert reopened.opened == ()
    assert reopened.reopened == (incident_id,)
    assert reopened.alerts == ()  # paged for it less than the flap window ago
    arbiter.evaluate(7700)
    quiet = arbiter.evaluate(8700)
    assert quiet.resolved == (incident_id,)
    assert quiet.alerts == ()  # no "resolved" for a reopening nobody was paged about

    [incident] = arbiter.incidents()
    assert incident["flaps"] == 1
    assert "reopened" in kinds(arbiter.incident(incident_id))


def test_a_reopening_after_the_flap_window_pages_again(arbiter: Arbiter) -> None:
    arbiter.world.busy(200, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=10)
    [incident_id] = arbiter.evaluate(3300).opened
    arbiter.evaluate(4000)
    assert arbiter.evaluate(5000).resolved == (incident_id,)
    erp_outage(arbiter.world, start=5500, orders=10)
    result = arbiter.evaluate(7000)  # 3700 s after the last page: the window (3600 s) is over
    assert result.reopened == (incident_id,)
    assert result.alerts == (("open", incident_id),)


def test_a_failing_evaluation_is_recorded_and_the_next_one_works(
    arbiter: Arbiter, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.incidents.evaluator import evaluate_workspace, incident_state

    arbiter.world.busy(30, start=0, every=60)
    erp_outage(arbiter.world, start=600, orders=10)
    arbiter.post()

    def broken(_workspace_id: str) -> Any:
        raise RuntimeError("index exploded")

    with monkeypatch.context() as patch:
        patch.setattr(arbiter.runtime.indexes, "index", broken)
        failed = evaluate_workspace(arbiter.runtime, "acme", arbiter.world.time(3600))
    assert not failed.ok
    assert failed.error == "RuntimeError: index exploded"
    assert incident_state(arbiter.runtime).results["acme"] == failed

    assert len(arbiter.evaluate(3600).opened) == 1


def test_a_workspace_without_topology_is_skipped(arbiter: Arbiter) -> None:
    from app.incidents.evaluator import evaluate_workspace

    assert arbiter.client.put("/api/v1/workspaces/bare").status_code == 201
    result = evaluate_workspace(arbiter.runtime, "bare", arbiter.world.time(0))
    assert result.ok
    assert result.skipped is not None
