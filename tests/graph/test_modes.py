"""Every failure mode is named on the right link with the right responsible party."""

from __future__ import annotations

from typing import Any

import pytest

from graph.results import Diagnosis, Suspect
from tests.scenarios import STANDARD_TOPOLOGY, World

HOUR = 3600.0


def diagnose(world: World, at: float) -> Diagnosis:
    return world.index().diagnose(STANDARD_TOPOLOGY, as_of=world.time(at))


def only(diagnosis: Diagnosis) -> Suspect:
    assert len(diagnosis.suspects) == 1, [s.summary for s in diagnosis.suspects]
    return diagnosis.suspects[0]


@pytest.fixture
def world() -> World:
    """A busy healthy hour of 40 orders, the background every failure stands out against."""
    world = World()
    world.busy(40, every=60)
    return world


def test_healthy_busy_world_blames_nothing(world: World) -> None:
    assert diagnose(world, 2 * HOUR).suspects == []


def test_healthy_world_with_skewed_clocks_blames_nothing() -> None:
    world = World(skew={"shop": -120, "erp": 120, "oms": 60})
    world.busy(60, every=45)
    # ERP's clock two minutes ahead: an order pushed at the SLA's edge looks late by skew alone.
    world.order(1, at=100, oms_after=590, erp_after=880)
    assert diagnose(world, 3 * HOUR).suspects == []


def test_everything_pending_blames_nothing() -> None:
    world = World()
    for n in range(10):
        world.order(n, at=n * 10, pushes=(503,), erp_after=None)
    assert diagnose(world, 900).suspects == []


def test_unavailable_push_blames_the_erp(world: World) -> None:
    for n in range(37):
        world.order(n, at=1000 + 60 * n, pushes=(503, 503, 503), erp_after=None)
    suspect = only(diagnose(world, 2 * HOUR))
    assert suspect.mode == "unavailable"
    assert suspect.link is not None
    assert (suspect.link.from_, suspect.link.to) == ("oms", "erp")
    assert suspect.responsible == "ERP partner"
    assert suspect.affected == 37
    # Only the busy orders that got through while the ERP was failing count as healthy.
    assert 0 < suspect.healthy < 40
    assert suspect.confidence > 0.7
    assert "erp answered 503 to every attempt" in suspect.summary
    assert suspect.summary.startswith("37 orders stuck between oms and erp")


def test_unavailable_pull_blames_the_shop_not_the_link_owner(world: World) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, pulls=(503, None, 503), oms_after=None)
    suspect = only(diagnose(world, 2 * HOUR))
    assert suspect.mode == "unavailable"
    assert suspect.link is not None
    assert (suspect.link.from_, suspect.link.to) == ("shop", "oms")
    assert suspect.responsible == "Shop agency"


@pytest.mark.parametrize(
    ("gap", "owner", "said"),
    [
        ({"pulls": (), "oms_after": None}, "BaseLinker", "oms never fetched them from shop"),
        ({"pushes": (), "erp_after": None}, "ERP partner", "oms never sent them to erp"),
    ],
    ids=["pull", "push"],
)
def test_missing_blames_the_link_owner(
    world: World, gap: dict[str, Any], owner: str, said: str
) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, **gap)
    suspect = only(diagnose(world, 2 * HOUR))
    assert (suspect.mode, suspect.responsible) == ("missing", owner)
    assert said in suspect.summary


@pytest.mark.parametrize(
    ("status", "mode"), [(422, "rejected"), (400, "rejected"), (429, "rate_limited")]
)
def test_client_errors_blame_the_link_owner(world: World, status: int, mode: str) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, pushes=(status, status), erp_after=None)
    suspect = only(diagnose(world, 2 * HOUR))
    assert (suspect.mode, suspect.responsible) == (mode, "ERP partner")
    assert suspect.evidence.calls
    assert {c.status for c in suspect.evidence.calls} == {status}


def test_rate_limited_pull_blames_the_owner(world: World) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, pulls=(429, 429), oms_after=None)
    suspect = only(diagnose(world, 2 * HOUR))
    assert (suspect.mode, suspect.responsible) == ("rate_limited", "BaseLinker")


def test_lost_blames_the_receiver(world: World) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, pushes=(503, 201), erp_after=None)
    suspect = only(diagnose(world, 2 * HOUR))
    assert (suspect.mode, suspect.responsible) == ("lost", "ERP partner")


def test_lost_on_pull_link_blames_the_oms(world: World) -> None:
    # The OMS fetched the order (200) but never shows it: it dropped what it took.
    for n in range(5):
        world.order(n, at=1000 + 60 * n, pulls=(200,), oms_after=None)
    suspect = only(diagnose(world, 2 * HOUR))
    assert suspect.link is not None
    assert (suspect.mode, suspect.link.to, suspect.responsible) == ("lost", "oms", "BaseLinker")


def test_late_beyond_sla_and_tolerance(world: World) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, erp_after=900 + 400)
    suspect = only(diagnose(world, 3 * HOUR))
    assert (suspect.mode, suspect.responsible) == ("late", "ERP partner")
    assert "late" in suspect.summary


def test_late_within_skew_tolerance_is_ok(world: World) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, erp_after=900 + 100)
    assert diagnose(world, 3 * HOUR).suspects == []


def test_retry_that_succeeds_within_sla_is_health(world: World) -> None:
    for n in range(5):
        world.order(n, at=1000 + 60 * n, pulls=(503, None, 200), pushes=(503, 429, 201))
    assert diagnose(world, 2 * HOUR).suspects == []


def test_order_mismatch(world: World) -> None:
    for n in range(3):
        world.order(n, at=1000 + 60 * n, erp_data={"total": "189.00", "lines": 2})
    suspect = only(diagnose(world, 3 * HOUR))
    assert (suspect.mode, suspect.responsible) == ("mismatch", "ERP partner")
    assert "total 199 in oms but 189 in erp" in suspect.summary


def test_equal_totals_spelled_differently_are_no_mismatch(world: World) -> None:
    world.order(1, at=1000, erp_data={"total": 199, "lines": "2"})
    assert diagnose(world, 3 * HOUR).suspects == []


def test_pending_within_sla_then_failed_after(world: World) -> None:
    world.order(1, at=HOUR, pushes=(503,), erp_after=None)
    in_oms = HOUR + 60
    assert diagnose(world, in_oms + 900).suspects == []
    assert only(diagnose(world, in_oms + 900 + 200)).mode == "unavailable"


def test_events_after_as_of_do_not_count(world: World) -> None:
    world.order(1, at=HOUR, erp_after=None)
    world.seen("erp", HOUR + 5000, {"erp": "X", "oms": "7000001"})
    assert only(diagnose(world, HOUR + 3000)).mode == "lost"
    assert diagnose(world, HOUR + 6000).suspects[0].mode == "late"


def test_window_leaves_out_old_finished_failures(world: World) -> None:
    world.order(1, at=0, erp_after=2000)
    as_of = 2 * 86400
    assert diagnose(world, as_of).suspects == []
    assert only(world.index().diagnose(
        STANDARD_TOPOLOGY, as_of=world.time(as_of), window_seconds=3 * 86400
    )).mode == "late"  # fmt: skip
