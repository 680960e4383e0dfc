"""Proactive warnings: the pure rules, and the API over scenarios and connector reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.warnings.rules import (
    Activity,
    CallStats,
    LinkFigures,
    call_stats,
    connector_warnings,
    link_warnings,
    probe_warnings,
    silence_warnings,
)
from app.warnings.service import record_connector_status
from graph.results import LinkRef
from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings

__all__ = ["arbiter", "arbiter_settings"]  # fixtures (tests.app.incidents.fixtures)

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
OMS_ERP = LinkRef(flow="order", from_="oms", to="erp")


def kinds(found: list[Any]) -> list[tuple[str, str]]:
    return [(w.kind, w.severity) for w in found]


def figures(**changes: Any) -> LinkFigures:
    values: dict[str, Any] = {
        "link": OMS_ERP,
        "sla_seconds": 900,
        "status": "healthy",
        "recent": CallStats(),
        "previous": CallStats(),
        "waiting_now": 0,
        "waiting_before": 0,
    }
    return LinkFigures(**(values | changes))


def stats(*outcomes: tuple[int | None, float]) -> CallStats:
    return call_stats([(NOW - timedelta(seconds=i), s, d) for i, (s, d) in enumerate(outcomes)])


def test_error_rate_rising() -> None:
    calm = stats(*[(200, 100.0)] * 19, (503, 100.0))
    worse = stats(*[(200, 100.0)] * 6, *[(503, 100.0)] * 4)
    assert kinds(link_warnings(figures(recent=worse, previous=calm))) == [
        ("error_rate_rising", "warning")
    ]
    assert link_warnings(figures(recent=calm, previous=calm)) == []
    assert link_warnings(figures(recent=worse, previous=worse)) == []  # high but not rising
    assert link_warnings(figures(recent=worse, previous=calm, status="failed")) == []
    assert link_warnings(figures(recent=stats((503, 1.0)), previous=calm)) == []  # too few


def test_backlog_and_latency() -> None:
    assert kinds(link_warnings(figures(waiting_now=12, waiting_before=3))) == [
        ("backlog_growing", "warning")
    ]
    assert link_warnings(figures(waiting_now=4, waiting_before=0)) == []
    slow = stats(*[(200, 500_000.0)] * 10)
    fast = stats(*[(200, 200.0)] * 10)
    assert kinds(link_warnings(figures(recent=slow, previous=fast))) == [
        ("latency_rising", "critical")  # 500 s a call on a hop of 900 s
    ]
    assert kinds(link_warnings(figures(recent=stats(*[(200, 3000.0)] * 10), previous=fast))) == [
        ("latency_rising", "warning")
    ]


def test_probe_warnings() -> None:
    refused = stats((401, 50.0), (200, 50.0))  # newest first: the latest probe was refused
    assert kinds(probe_warnings("erp", refused)) == [("credentials_failing", "critical")]
    throttled = stats(*[(429, 50.0)] * 3, *[(200, 50.0)] * 7)
    assert kinds(probe_warnings("oms", throttled)) == [("rate_limit_pressure", "warning")]
    assert probe_warnings("oms", stats(*[(200, 50.0)] * 10)) == []


def test_silence_uses_the_usual_gap_or_the_poll_interval() -> None:
    quiet = Activity("shop", NOW - timedelta(minutes=40), usual_gap_seconds=60)
    assert kinds(silence_warnings(quiet, as_of=NOW, factor=3, minimum=900, poll_interval=None)) == [
        ("silent", "warning")
    ]
    assert silence_warnings(quiet, as_of=NOW, factor=3, minimum=900, poll_interval=1800) == []
    gone = Activity("shop", NOW - timedelta(days=1), usual_gap_seconds=60)
    assert kinds(silence_warnings(gone, as_of=NOW, factor=3, minimum=900, poll_interval=None)) == [
        ("silent", "critical")
    ]


def test_connector_reports() -> None:
    def check(status: dict[str, Any]) -> list[tuple[str, str]]:
        return kinds(connector_warnings("shop", status, as_of=NOW, silence_factor=3))

    assert check({"webhook_disabled": True}) == [("webhook_disabled", "critical")]
    assert check({"rate_limit": {"limit": 100, "remaining": 15}}) == [
        ("rate_limit_headroom_low", "warning")
    ]
    assert check({"rate_limit": {"limit": 100, "remaining": 60}}) == []
    assert check({"last_poll_at": "2026-11-25T11:00:00Z", "poll_interval_seconds": 60}) == [
        ("connector_stopped", "critical")
    ]
    assert check({"last_poll_at": "2026-11-25T11:59:00Z", "poll_interval_seconds": 60}) == []
    assert check({"last_error": "401 Unauthorized"}) == [("connector_error", "warning")]
    # A refused poll (BaseLinker says so in an HTTP 200 body) names the system's refusal.
    refused = {"last_error": "getOrders: ERROR ERROR_BAD_TOKEN", "error_kind": "AuthError"}
    assert check(refused) == [("credentials_failing", "critical")]
    assert check({"warnings": ["journal: 2 entries have neither log_id nor id"]}) == [
        ("connector_error", "warning")
    ]


def test_the_api_warns_before_the_incident(arbiter: Arbiter) -> None:
    world = arbiter.world
    world.busy(120, start=0, every=60)  # two calm hours
    for i in range(50):  # then the ERP slows down and fails first attempts; retries still pass
        world.order(
            60_000 + i, at=7200 + i * 60, pushes=(503, 503, 503, 201), erp_after=300, retry_every=60
        )
        world.call("oms", "erp", 7200 + i * 60 + 5, 201, duration_ms=9000)
    for i in range(25):  # orders piling up at the OMS in the last minutes, within their SLA
        world.order(70_000 + i, at=10_000 + i * 10, pushes=(), erp_after=None)
    for i in range(3):
        world.probe("erp", 9000 + i * 600, 401)
    arbiter.post()
    as_of = world.time(10_400).isoformat()
    response = arbiter.client.get(f"{arbiter.base}/warnings", params={"as_of": as_of})
    assert response.status_code == 200, response.text
    body = response.json()
    found = {(w["kind"], w["system"] or w["link"]["to"]) for w in body["warnings"]}
    assert ("error_rate_rising", "erp") in found
    assert ("latency_rising", "erp") in found
    assert ("backlog_growing", "erp") in found
    assert ("credentials_failing", "erp") in found
    assert body["warnings"][0]["severity"] == "critical"  # most severe first
    assert arbiter.evaluate(10_400).opened == ()  # nothing has failed yet: no incident


def test_silent_systems_and_connector_reports(arbiter: Arbiter) -> None:
    world = arbiter.world
    world.busy(60, start=0, every=60)
    arbiter.post()
    record_connector_status(arbiter.runtime, "acme", "shop", {"last_error": "401 Unauthorized"})
    record_connector_status(arbiter.runtime, "other", "shop", {"webhook_disabled": True})
    as_of = world.time(3600 + 2400).isoformat()
    body = arbiter.client.get(f"{arbiter.base}/warnings", params={"as_of": as_of}).json()
    found = {(w["kind"], w["system"]) for w in body["warnings"]}
    assert {("silent", "shop"), ("silent", "oms"), ("silent", "erp")} <= found
    assert ("connector_error", "shop") in found
    assert ("webhook_disabled", "shop") not in found  # another workspace's report


def test_warnings_errors(arbiter: Arbiter) -> None:
    assert arbiter.client.get("/api/v1/workspaces/nobody/warnings").status_code == 404
    assert arbiter.client.put("/api/v1/workspaces/bare").status_code == 201
    assert arbiter.client.get("/api/v1/workspaces/bare/warnings").status_code == 409
    bad = arbiter.client.get(f"{arbiter.base}/warnings", params={"as_of": "yesterday"})
    assert bad.status_code == 422
