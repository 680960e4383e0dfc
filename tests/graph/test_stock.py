"""Stock drift along erp → oms → shop: stale updates, wrong quantities, oversell risk."""

from __future__ import annotations

from graph.results import Diagnosis
from tests.scenarios import STANDARD_TOPOLOGY, World

HOUR = 3600.0


def diagnose(world: World, at: float) -> Diagnosis:
    return world.index().diagnose(STANDARD_TOPOLOGY, as_of=world.time(at))


def synced(world: World, sku: str, at: float, quantity: float) -> None:
    world.stock("erp", sku, at, quantity)
    world.stock("oms", sku, at + 300, quantity)
    world.stock("shop", sku, at + 600, quantity)


def stale_world(poll_status: int | None = None) -> World:
    world = World()
    for i in range(20):
        synced(world, f"OK-{i}", 0, 10 + i)
    for i in range(4):
        sku = f"ABC-{i}"
        synced(world, sku, 0, 12)
        world.stock("erp", sku, 1000, 8)  # a sale booked in the ERP...
        world.stock("oms", sku, 5000, 12)  # ...that the OMS still does not show
        world.stock("shop", sku, 5000, 12)
    if poll_status is not None:
        for minute in range(40):
            world.call("oms", "erp", 1000 + 60 * minute, poll_status, flow="stock")
    return world


def test_stale_stock_without_calls_is_missing_on_the_first_link() -> None:
    suspect = diagnose(stale_world(), 2 * HOUR).suspects[0]
    assert suspect.link is not None
    assert (suspect.link.flow, suspect.link.from_, suspect.link.to) == ("stock", "erp", "oms")
    assert (suspect.mode, suspect.responsible) == ("missing", "BaseLinker")
    assert suspect.affected == 4
    assert suspect.summary.startswith("4 SKUs not updated from erp to oms")


def test_stale_stock_with_failing_polls_blames_the_erp() -> None:
    suspect = diagnose(stale_world(poll_status=503), 2 * HOUR).suspects[0]
    assert (suspect.mode, suspect.responsible) == ("unavailable", "ERP partner")


def test_stale_stock_with_rejected_polls_blames_the_owner() -> None:
    suspect = diagnose(stale_world(poll_status=401), 2 * HOUR).suspects[0]
    assert (suspect.mode, suspect.responsible) == ("rejected", "BaseLinker")


def test_stale_stock_within_sla_is_pending() -> None:
    world = stale_world()
    assert diagnose(world, 1000 + 1800).suspects == []
    drift = world.index().stock_drift(STANDARD_TOPOLOGY, as_of=world.time(1000 + 1800))
    assert {d.status for d in drift} == {"pending"}
    assert len(drift) == 4


def test_stale_stock_drift_report() -> None:
    world = stale_world(poll_status=503)
    drift = world.index().stock_drift(STANDARD_TOPOLOGY, as_of=world.time(2 * HOUR))
    assert [d.sku for d in drift] == ["ABC-0", "ABC-1", "ABC-2", "ABC-3"]
    first = drift[0]
    assert first.oversell_risk
    assert first.status == "failed"
    assert (first.mode, first.responsible) == ("unavailable", "ERP partner")
    assert first.link is not None
    assert (first.link.from_, first.link.to) == ("erp", "oms")
    assert [(q.system, q.quantity) for q in first.quantities] == [
        ("erp", 8),
        ("oms", 12),
        ("shop", 12),
    ]
    assert first.since == world.time(1000)
    assert "may sell stock that is not there" in first.summary


def test_value_upstream_never_held_is_mismatch() -> None:
    world = World()
    for i in range(10):
        synced(world, f"OK-{i}", 0, 5 + i)
    synced(world, "XYZ-1", 0, 10)
    world.stock("shop", "XYZ-1", 1200, 100)  # the plugin multiplied by ten
    suspect = diagnose(world, 2 * HOUR).suspects[0]
    assert suspect.link is not None
    assert (suspect.mode, suspect.link.from_, suspect.link.to) == ("mismatch", "oms", "shop")
    assert suspect.responsible == "BaseLinker"
    assert "never had" in suspect.summary


def test_oversell_risk_sorts_first() -> None:
    world = World()
    synced(world, "LOW", 0, 10)
    world.stock("shop", "LOW", 1200, 3)  # shows less than there is: no oversell
    synced(world, "HIGH", 0, 10)
    world.stock("shop", "HIGH", 1300, 30)
    drift = world.index().stock_drift(STANDARD_TOPOLOGY, as_of=world.time(2 * HOUR))
    assert [(d.sku, d.oversell_risk) for d in drift] == [("HIGH", True), ("LOW", False)]


def test_items_the_shop_does_not_sell_are_not_judged() -> None:
    world = World()
    world.stock("erp", "ERP-ONLY", 0, 40)
    world.stock("erp", "ERP-ONLY", 100, 30)
    assert diagnose(world, 5 * HOUR).suspects == []
    assert world.index().stock_drift(STANDARD_TOPOLOGY, as_of=world.time(5 * HOUR)) == []


def test_items_sent_but_never_shown_are_lost() -> None:
    world = World()
    world.stock("oms", "NEW-1", 0, 7)
    world.call("oms", "shop", 30, 200, flow="stock", refs={"sku": "NEW-1"})
    suspect = diagnose(world, 2 * HOUR).suspects[0]
    assert (suspect.mode, suspect.responsible) == ("lost", "Shop agency")


def test_stock_and_orders_healthy_together() -> None:
    world = World()
    world.busy(30, every=60)
    for i in range(30):
        synced(world, f"S-{i}", 60 * i, i)
        world.stock("erp", f"S-{i}", 3000 + 60 * i, i + 1)
        world.stock("oms", f"S-{i}", 3000 + 60 * i + 900, i + 1)
        world.stock("shop", f"S-{i}", 3000 + 60 * i + 1200, i + 1)
    assert diagnose(world, 4 * HOUR).suspects == []
    assert world.index().stock_drift(STANDARD_TOPOLOGY, as_of=world.time(4 * HOUR)) == []
