"""A shop's ordinary day blames nobody: unpaid orders, cancellations, outages, shipping lines.

Each test feeds the vendors' real state names and the comparable facts their connectors report
(CONTRACT.md, ``states`` and ``data``), and checks the diagnosis names exactly who failed, or
nobody.
"""

from __future__ import annotations

from typing import Any

import pytest

from graph.index import WorkspaceIndex
from graph.model import Topology
from graph.results import Suspect
from tests.scenarios import STANDARD_TOPOLOGY, STANDARD_TOPOLOGY_JSON, World, oms_id

HOUR = 3600.0
SHOP = {"shop": "100045"}
BOTH = {"shop": "100045", "oms": oms_id(100045)}
ERP = {"erp": "S00042", "oms": oms_id(100045)}


def diagnose(world: World, at: float, topology: Topology = STANDARD_TOPOLOGY) -> list[Suspect]:
    return world.index().diagnose(topology, as_of=world.time(at)).suspects


def hop_of(world: World, at: float, link: tuple[str, str]) -> dict[str, Any]:
    trace = world.index().trace(STANDARD_TOPOLOGY, "shop", "100045", as_of=world.time(at))
    assert trace is not None
    hops = trace.model_dump(mode="json", by_alias=True)["hops"]
    return next(h for h in hops if (h["link"]["from"], h["link"]["to"]) == link)


def assert_blameless(world: World, at: float, status: str, detail: str) -> None:
    """Nobody is blamed at ``at``; the order's shop → OMS hop has ``status`` and says why."""
    assert diagnose(world, at) == []
    hop = hop_of(world, at, ("shop", "oms"))
    assert hop["status"] == status
    assert detail in hop["detail"]


def imported(world: World, at: float) -> None:
    """The OMS fetches the order and holds it from ``at``."""
    world.call("oms", "shop", at - 2, 200, refs=SHOP)
    world.seen("oms", at, BOTH, state="new")


def booked(world: World, at: float) -> None:
    world.call("oms", "erp", at - 5, 201, refs=BOTH)
    world.seen("erp", at, ERP, state="sale")


# -- waiting: an unpaid order is not expected downstream -------------------------------------


def test_bank_transfer_waits_on_hold_then_travels_on_time_after_payment() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="on-hold")
    world.seen("shop", 5 * HOUR, SHOP, state="processing")  # the transfer arrived
    imported(world, 5 * HOUR + 120)
    booked(world, 5 * HOUR + 300)
    assert_blameless(world, 6 * HOUR, "ok", "clock started when it left on-hold")


def test_an_order_unpaid_for_days_is_waiting_not_missing() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="pending")
    world.call("oms", "shop", 600, 200)  # the OMS polls and (rightly) takes nothing
    assert_blameless(world, 48 * HOUR, "pending", "waiting in shop (pending)")


def test_paid_but_never_imported_is_still_missing_from_payment_on() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="on-hold")
    world.seen("shop", 3 * HOUR, SHOP, state="processing")
    # Past 10 min (+ skew) after payment, not after placing: still pending at 3 h 5 min.
    assert diagnose(world, 3 * HOUR + 300) == []
    [suspect] = diagnose(world, 4 * HOUR)
    assert (suspect.link and suspect.link.from_, suspect.mode, suspect.responsible) == (
        "shop",
        "missing",
        "BaseLinker",
    )


def test_an_order_the_oms_takes_while_unpaid_is_simply_there() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="on-hold")
    imported(world, 60)
    booked(world, 200)
    assert diagnose(world, 10 * HOUR) == []


# -- closed: cancelled or failed before it left ---------------------------------------------


@pytest.mark.parametrize(
    ("first", "final"),
    [
        ("pending", "cancelled"),
        ("on-hold", "cancelled"),
        ("pending", "failed"),
        ("processing", "trash"),
    ],
)
def test_closed_before_it_left_ends_the_journey_without_blame(first: str, final: str) -> None:
    world = World()
    world.seen("shop", 0, SHOP, state=first)
    world.seen("shop", 300, SHOP, state=final)
    assert diagnose(world, 24 * HOUR) == []


def test_a_failed_payment_retried_and_paid_travels_on() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="failed")
    world.seen("shop", 120, SHOP, state="processing")
    [suspect] = diagnose(world, 2 * HOUR)
    assert suspect.mode == "missing"


def test_cancelled_after_it_was_overdue_keeps_the_failure_but_ends_it() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    world.seen("shop", 2 * HOUR, SHOP, state="cancelled")  # the customer gave up waiting
    [suspect] = diagnose(world, 3 * HOUR)
    assert suspect.mode == "missing"
    hop = hop_of(world, 3 * HOUR, ("shop", "oms"))
    assert "closed in shop (cancelled)" in hop["detail"]


def test_cancelled_in_the_shop_after_import_ends_the_erp_hop_too() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    imported(world, 120)
    world.seen("shop", 300, SHOP, state="cancelled")
    assert diagnose(world, 24 * HOUR) == []


def test_magento_and_odoo_states_have_their_products_defaults() -> None:
    topology = Topology.model_validate(
        {
            **STANDARD_TOPOLOGY_JSON,
            "systems": [
                {"id": "shop", "kind": "magento", "vendor": "Shop agency"},
                {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"},
                {"id": "erp", "kind": "odoo", "vendor": "ERP partner"},
            ],
        }
    )
    world = World()
    world.seen("shop", 0, SHOP, state="pending_payment")
    world.seen("shop", 600, SHOP, state="canceled")
    world.seen("shop", 0, {"shop": "2"}, state="payment_review")
    assert diagnose(world, 24 * HOUR, topology) == []


def test_configured_states_replace_the_defaults_for_a_per_account_oms() -> None:
    """BaseLinker's statuses are per account: the merchant says which ones wait."""
    json: dict[str, Any] = {**STANDARD_TOPOLOGY_JSON}
    json["systems"] = [
        dict(s, states={"waiting": ["1051"], "closed": ["1099"]}) if s["id"] == "oms" else s
        for s in STANDARD_TOPOLOGY_JSON["systems"]
    ]
    topology = Topology.model_validate(json)
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    world.call("oms", "shop", 58, 200, refs=SHOP)
    world.seen("oms", 60, BOTH, state="1051")  # "awaiting stock" in this account
    world.seen("shop", 0, {"shop": "2"}, state="processing")
    world.call("oms", "shop", 58, 200, refs={"shop": "2"})
    world.seen("oms", 60, {"shop": "2", "oms": "9"}, state="1099")  # cancelled in BaseLinker
    assert diagnose(world, 24 * HOUR, topology) == []
    assert topology.to_json()["systems"][1]["states"] == {"waiting": ["1051"], "closed": ["1099"]}
    assert "states" not in topology.to_json()["systems"][0]


def test_states_that_are_both_waiting_and_closed_are_refused() -> None:
    json: dict[str, Any] = {**STANDARD_TOPOLOGY_JSON}
    json["systems"] = [
        dict(s, states={"waiting": ["Hold"], "closed": ["hold"]}) for s in json["systems"]
    ]
    with pytest.raises(ValueError, match="both waiting and closed"):
        Topology.model_validate(json)


# -- the cause of lateness -------------------------------------------------------------------


def outage_then_backlog(world: World, orders: int = 6) -> None:
    """The ERP answered 503 for an hour; then the integrator re-pushed the backlog."""
    for n in range(orders):
        shop, both = {"shop": str(n)}, {"shop": str(n), "oms": oms_id(n)}
        world.seen("shop", 60 * n, shop, state="processing")
        world.call("oms", "shop", 60 * n + 58, 200, refs=shop)
        world.seen("oms", 60 * n + 60, both, state="new")
        for attempt in range(int((HOUR - 60 * n) // 300) + 1):
            world.call("oms", "erp", 60 * n + 90 + 300 * attempt, 503, refs=both)
        world.call("oms", "erp", HOUR + 120 + 10 * n, 201, refs=both)
        world.seen("erp", HOUR + 130 + 10 * n, {"erp": f"S{n}", "oms": oms_id(n)}, state="sale")


def test_an_outage_followed_by_a_backlog_is_the_erps_not_the_integrators() -> None:
    world = World()
    outage_then_backlog(world)
    suspects = diagnose(world, 3 * HOUR)
    assert [(s.mode, s.responsible) for s in suspects] == [("unavailable", "ERP partner")]
    summary = suspects[0].summary
    assert "reached erp from oms late" in summary
    assert "erp answered 503" in summary or "erp failed" in summary
    assert "the slowest took" in summary


def test_late_with_every_attempt_answered_is_the_links_owner() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    imported(world, 60)
    booked(world, 2 * HOUR)  # the integrator pushed once, two hours on, and it was taken
    [suspect] = diagnose(world, 3 * HOUR)
    assert (suspect.mode, suspect.responsible) == ("late", "ERP partner")


def test_a_first_attempt_made_after_the_deadline_does_not_shift_the_blame() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    imported(world, 60)
    world.call("oms", "erp", HOUR, 503, refs=BOTH)  # the first try came an hour late
    booked(world, HOUR + 600)
    [suspect] = diagnose(world, 3 * HOUR)
    assert suspect.mode == "late"


def test_late_pulls_while_the_shop_answered_429_are_rate_limited() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    for minute in range(1, 40):
        world.call("oms", "shop", 60 * minute, 429)  # list polls throttled
    imported(world, 45 * 60)
    [suspect] = diagnose(world, 3 * HOUR)
    assert (suspect.mode, suspect.responsible) == ("rate_limited", "BaseLinker")


# -- comparable facts ------------------------------------------------------------------------


def travelled(shop_data: dict[str, Any], oms_data: dict[str, Any]) -> World:
    world = World()
    world.seen("shop", 0, SHOP, state="processing", data=shop_data)
    world.call("oms", "shop", 58, 200, refs=SHOP)
    world.seen("oms", 60, BOTH, state="new", data=oms_data)
    booked(world, 200)
    return world


def test_shipping_fees_and_discounts_compare_as_the_gross_total() -> None:
    # WooCommerce: two product lines + a shipping line + a fee; BaseLinker: the same two
    # products, delivery_price added to the total, not a line.
    shop = {"total": "236.89", "currency": "PLN", "lines": 2, "skus": {"TS-M": 2, "CAP": 1}}
    oms = {"total": 236.89, "currency": "PLN", "lines": 2, "skus": {"CAP": 1, "TS-M": 2}}
    assert diagnose(travelled(shop, oms), 3 * HOUR) == []


def test_money_within_one_minor_unit_is_equal() -> None:
    world = travelled({"total": "99.99", "currency": "PLN"}, {"total": "100.00"})
    assert diagnose(world, 3 * HOUR) == []
    world = travelled({"total": "1000", "currency": "JPY"}, {"total": "1001", "currency": "JPY"})
    assert diagnose(world, 3 * HOUR) == []


def test_a_real_difference_names_the_field_and_both_values() -> None:
    world = travelled({"total": "236.89", "currency": "PLN"}, {"total": "216.89"})
    [suspect] = diagnose(world, 3 * HOUR)
    assert (suspect.mode, suspect.responsible) == ("mismatch", "BaseLinker")
    assert "total 236.89 in shop but 216.89 in oms" in suspect.summary


def test_sku_quantities_differ() -> None:
    world = travelled({"skus": {"TS-M": 2, "CAP": 1}}, {"skus": {"TS-M": 1, "CAP": 1}})
    [suspect] = diagnose(world, 3 * HOUR)
    assert "skus CAP=1, TS-M=2 in shop but CAP=1, TS-M=1 in oms" in suspect.summary


@pytest.mark.parametrize(
    ("shop", "oms"),
    [
        ({"total": "50.00", "currency": "EUR"}, {"total": "215.40", "currency": "PLN"}),
        ({"skus": {"TS-M": 2}}, {"skus": {"100234": 2}}),  # ids, not SKUs, on one side
        ({"payment": "przelew", "lines": 2}, {"payment": "transfer"}),
        ({"lines": 3}, {"total": "10.00"}),
    ],
)
def test_facts_not_comparable_are_not_compared(shop: dict[str, Any], oms: dict[str, Any]) -> None:
    assert diagnose(travelled(shop, oms), 3 * HOUR) == []


# -- settled evidence ------------------------------------------------------------------------


def stock_pushed_just_before(world: World, push_at: float) -> None:
    """The OMS changed at 0 and pushed late; the shop's last read predates the push."""
    world.stock("erp", "SKU-1", -100, 5)
    world.stock("oms", "SKU-1", -50, 5)
    world.stock("shop", "SKU-1", -40, 7)
    world.stock("shop", "SKU-1", -30, 5)
    world.stock("erp", "SKU-1", -10, 4)
    world.stock("oms", "SKU-1", 0, 4)
    world.call("oms", "shop", push_at, 200, refs={"sku": "SKU-1"}, flow="stock")


def test_a_stock_read_that_may_predate_the_push_is_no_evidence_of_loss() -> None:
    world = World()
    stock_pushed_just_before(world, 1000)
    # Past the SLA from the change (900 + 180 s), but the push was accepted 100 s ago.
    assert diagnose(world, 1100) == []


def test_a_push_accepted_a_whole_sla_ago_and_not_shown_is_lost() -> None:
    world = World()
    stock_pushed_just_before(world, 1000)
    [suspect] = diagnose(world, 1000 + 900 + 200)
    assert (suspect.mode, suspect.responsible) == ("lost", "Shop agency")


def test_an_order_accepted_at_the_last_moment_is_pending_until_settled() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="processing")
    imported(world, 60)
    world.call("oms", "erp", 1000, 201, refs=BOTH)
    assert diagnose(world, 1200) == []
    [suspect] = diagnose(world, 1000 + 900 + 200)
    assert suspect.mode == "lost"


def test_index_caching_keeps_state_verdicts_stable() -> None:
    world = World()
    world.seen("shop", 0, SHOP, state="on-hold")
    index = WorkspaceIndex()
    index.add(world.events)
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(HOUR)).suspects == []
    index.add([world.seen("shop", 2 * HOUR, SHOP, state="processing")])
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(2 * HOUR + 60)).suspects == []
    assert len(index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(4 * HOUR)).suspects) == 1


# -- learned states: a per-account OMS whose statuses nobody configured ---------------------


def oms_orders(world: World, first: int, count: int, state: str, *, erp: bool) -> None:
    for n in range(first, first + count):
        shop, both = {"shop": str(n)}, {"shop": str(n), "oms": oms_id(n)}
        world.seen("shop", 60 * n, shop, state="processing")
        world.call("oms", "shop", 60 * n + 50, 200, refs=shop)
        world.seen("oms", 60 * n + 60, both, state=state)
        if erp:
            world.call("oms", "erp", 60 * n + 100, 201, refs=both)
            world.seen("erp", 60 * n + 120, {"erp": f"S{n}", "oms": oms_id(n)}, state="sale")


def the_suspect(world: World) -> tuple[str, int]:
    """The mode and the number of orders of the one suspect a day after the orders."""
    [suspect] = diagnose(world, 30 * HOUR)
    return suspect.mode, suspect.affected


def test_a_status_no_order_ever_leaves_from_is_learned_as_waiting() -> None:
    world = World()
    oms_orders(world, 0, 8, "1051", erp=True)  # "New orders": pushed to the ERP
    oms_orders(world, 100, 6, "1060", erp=False)  # "Awaiting payment": kept back
    index = world.index()
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(30 * HOUR)).suspects == []
    trace = index.trace(STANDARD_TOPOLOGY, "shop", "100", as_of=world.time(30 * HOUR))
    assert trace is not None
    detail = next(h.detail for h in trace.hops if h.link.from_ == "oms")
    assert detail is not None
    assert "waiting in oms (1060)" in detail
    assert "learned from history" in detail


def test_a_link_broken_outright_teaches_nothing() -> None:
    world = World()
    oms_orders(world, 0, 8, "1051", erp=False)
    assert the_suspect(world) == ("missing", 8)


def test_a_link_that_broke_keeps_being_judged_on_the_states_it_carried() -> None:
    world = World()
    oms_orders(world, 0, 8, "1051", erp=True)
    oms_orders(world, 100, 6, "1051", erp=False)
    assert the_suspect(world) == ("missing", 6)


def test_the_status_failed_orders_are_moved_to_is_not_learned() -> None:
    """An integration moves orders the ERP refused into "ERP error": tried, so not waiting."""
    world = World()
    oms_orders(world, 0, 8, "1051", erp=True)
    for n in range(100, 106):
        shop, both = {"shop": str(n)}, {"shop": str(n), "oms": oms_id(n)}
        world.seen("shop", 60 * n, shop, state="processing")
        world.call("oms", "shop", 60 * n + 50, 200, refs=shop)
        world.seen("oms", 60 * n + 60, both, state="1051")
        world.call("oms", "erp", 60 * n + 100, 422, refs=both)
        world.seen("oms", 60 * n + 110, both, state="1070")  # "ERP error"
    assert the_suspect(world) == ("rejected", 6)


def stock_returned_to_an_older_value(world: World) -> None:
    """ERP and OMS went 25 → 23 → 25; the shop already shows 25 again, the OMS not yet read."""
    world.stock("erp", "TEA-20", -2000, 25)
    world.stock("oms", "TEA-20", -1990, 25)
    world.stock("shop", "TEA-20", -1980, 25)
    world.stock("erp", "TEA-20", -1500, 23)
    world.stock("oms", "TEA-20", -1490, 23)
    world.call("oms", "shop", -1489, 200, refs={"sku": "TEA-20"}, flow="stock")
    world.stock("shop", "TEA-20", -1488, 23)
    world.stock("erp", "TEA-20", -5, 25)
    world.stock("shop", "TEA-20", 0, 25)  # the push of 25 applied; the OMS read comes later


def test_a_far_side_that_moved_after_the_last_read_of_the_near_side_is_not_judged() -> None:
    world = World()
    stock_returned_to_an_older_value(world)
    assert diagnose(world, 1) == []


def test_the_same_far_side_is_judged_once_the_near_side_was_read_since() -> None:
    world = World()
    stock_returned_to_an_older_value(world)
    world.probe("oms", 200, 200, flow="stock")  # read: the OMS still shows 23, so 25 is stale
    [suspect] = diagnose(world, 210)
    assert suspect.link is not None
    assert (suspect.link.from_, suspect.link.to, suspect.mode) == ("oms", "shop", "lost")


def test_with_no_reads_at_all_a_whole_sla_without_news_settles_it() -> None:
    world = World()
    stock_returned_to_an_older_value(world)
    assert diagnose(world, 900) == []
    [suspect] = diagnose(world, 900 + 200)
    assert suspect.mode == "lost"
