"""Traces: one order followed across shop, OMS and ERP although no event names all three."""

from __future__ import annotations

import json

from tests.scenarios import CONTRACT_EVENTS, STANDARD_TOPOLOGY, World, erp_id, oms_id


def test_trace_across_three_systems_from_any_identifier() -> None:
    world = World()
    world.order(100045, at=0, pulls=(503, 200), pushes=(None, 201))
    index = world.index()
    as_of = world.time(3600)
    by_shop = index.trace(STANDARD_TOPOLOGY, "shop", "100045", as_of=as_of)
    by_erp = index.trace(STANDARD_TOPOLOGY, "erp", erp_id(100045), as_of=as_of)
    assert by_shop is not None
    assert by_erp is not None
    assert by_shop.refs == {
        "erp": [erp_id(100045)],
        "oms": [oms_id(100045)],
        "shop": ["100045"],
    }
    assert by_erp.refs == by_shop.refs
    assert by_shop.events == by_erp.events
    assert [e["system"] for e in by_shop.events] == [
        "shop",
        "oms",
        "oms",
        "oms",
        "oms",
        "oms",
        "erp",
    ]
    # Each event as it was sent and is stored: the push that got no answer keeps its null
    # status (CONTRACT.md: null means no response came), not a call without one.
    unanswered = [e["outcome"] for e in by_shop.events if e["kind"] == "call"][2]
    assert unanswered["status"] is None
    assert by_shop.events == [json.loads(e.json_text()) for e in world.events]
    times = [e["time"] for e in by_shop.events]
    assert times == sorted(times)
    assert [(h.link.from_, h.link.to, h.status) for h in by_shop.hops] == [
        ("shop", "oms", "ok"),
        ("oms", "erp", "ok"),
    ]
    assert by_shop.failure is None
    shop_hop = by_shop.hops[0]
    assert shop_hop.entered == world.time(0)
    assert shop_hop.arrived == world.time(60)
    assert shop_hop.deadline == world.time(600)
    assert [c.status for c in shop_hop.calls] == [503, 200]


def test_trace_json_shape() -> None:
    world = World()
    world.order(7, at=0, pushes=(503, 503), erp_after=None)
    trace = world.index().trace(STANDARD_TOPOLOGY, "shop", "7", as_of=world.time(7200))
    assert trace is not None
    payload = trace.model_dump(mode="json", by_alias=True)
    assert payload["as_of"] == "2026-11-25T12:00:00Z"
    hop = payload["hops"][1]
    assert hop["link"] == {"flow": "order", "from": "oms", "to": "erp"}
    assert (hop["status"], hop["mode"], hop["responsible"]) == (
        "failed",
        "unavailable",
        "ERP partner",
    )
    assert hop["arrived"] is None
    assert hop["entered"] == "2026-11-25T10:01:00Z"
    assert hop["deadline"] == "2026-11-25T10:16:00Z"
    assert payload["failure"] == hop
    # the shop's event as CONTRACT.md shows one, for order 7
    shown = payload["events"][0]
    assert shown == {**CONTRACT_EVENTS[0], "id": shown["id"], "refs": {"shop": "7"}}


def test_trace_pending_hop() -> None:
    world = World()
    world.order(8, at=0, erp_after=None, pushes=())
    trace = world.index().trace(STANDARD_TOPOLOGY, "oms", oms_id(8), as_of=world.time(300))
    assert trace is not None
    assert [h.status for h in trace.hops] == ["ok", "pending"]
    assert trace.failure is None


def test_trace_of_unknown_or_future_identifier_is_none() -> None:
    world = World()
    world.order(9, at=600)
    index = world.index()
    assert index.trace(STANDARD_TOPOLOGY, "shop", "nope", as_of=world.time(7200)) is None
    assert index.trace(STANDARD_TOPOLOGY, "shop", "9", as_of=world.time(0)) is None


def test_trace_of_stock_item() -> None:
    world = World()
    world.stock("erp", "ABC-1", 0, 12)
    world.stock("oms", "ABC-1", 60, 12)
    world.stock("shop", "ABC-1", 120, 11)
    trace = world.index().trace(STANDARD_TOPOLOGY, "sku", "ABC-1", as_of=world.time(7200))
    assert trace is not None
    assert [(h.link.to, h.status, h.mode) for h in trace.hops] == [
        ("oms", "ok", None),
        ("shop", "failed", "mismatch"),
    ]
    assert trace.hops[1].quantities == {"from": 12, "to": 11}
