"""The index: idempotent ingest, caching that never changes an answer."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from datetime import datetime

from graph.calls import CallLogs
from graph.index import WorkspaceIndex
from graph.journeys import UnionFind
from graph.model import Topology
from tests.scenarios import STANDARD_TOPOLOGY, STANDARD_TOPOLOGY_JSON, World, oms_id


def test_add_is_idempotent_and_counts_new_events() -> None:
    world = World()
    world.order(1, at=0)
    index = world.index()
    assert len(index) == len(world.events)
    assert index.add(world.events) == 0
    assert index.add(world.events[:2] + world.events[:2]) == 0
    before = index.version
    world.order(2, at=10)
    assert index.add(world.events) == 5
    assert index.version == before + 5


def test_cached_answers_equal_fresh_ones_at_every_as_of() -> None:
    world = World()
    world.busy(10, every=60)
    for n in range(5):
        world.order(n, at=300 + 100 * n, pushes=(503,), erp_after=None)
    warm = world.index()
    for offset in [0, 400, 900, 1300, 1400, 1700, 2100, 2000, 9000, 600]:
        as_of = world.time(offset)
        cold = world.index().diagnose(STANDARD_TOPOLOGY, as_of=as_of)
        assert warm.diagnose(STANDARD_TOPOLOGY, as_of=as_of) == cold


def test_shared_evidence_arriving_later_updates_cached_verdicts() -> None:
    world = World()
    for n in range(3):
        world.order(n, at=0, pulls=(), oms_after=None)
    index = world.index()
    as_of = world.time(3600)
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=as_of).suspects[0].mode == "missing"
    index.add([world.call("oms", "shop", 120, 503)])
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=as_of).suspects[0].mode == "unavailable"


def test_a_new_topology_is_judged_afresh() -> None:
    world = World()
    world.order(1, at=0, oms_after=700)
    index = world.index()
    as_of = world.time(7200)
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=as_of).suspects == []
    patient = dict(STANDARD_TOPOLOGY_JSON)
    patient["links"] = [dict(link) for link in STANDARD_TOPOLOGY_JSON["links"]]
    patient["links"][0]["sla_seconds"] = 60
    strict = Topology.model_validate(patient)
    assert index.diagnose(strict, as_of=as_of).suspects[0].mode == "late"


def test_naive_as_of_is_utc() -> None:
    world = World()
    world.order(1, at=0, pushes=(503,), erp_after=None)
    index = world.index()
    aware = index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(7200))
    naive = index.diagnose(STANDARD_TOPOLOGY, as_of=datetime(2026, 11, 25, 12, 0))
    assert naive == aware


def test_calls_between_unlinked_systems_are_kept_but_blame_nothing() -> None:
    world = World()
    world.order(1, at=0)
    world.call("shop", "erp", 30, 500, refs={"shop": "1"})
    index = world.index()
    trace = index.trace(STANDARD_TOPOLOGY, "shop", "1", as_of=world.time(7200))
    assert trace is not None
    assert any(e.get("target") == "erp" and e["system"] == "shop" for e in trace.events)
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(7200)).suspects == []


def test_calls_and_activity_for_the_warnings() -> None:
    from tests.scenarios import World

    world = World()
    world.order(1, at=0, pushes=(503, 201))
    world.probe("erp", 50, None)
    index = world.index()
    calls = index.calls_between(start=world.time(0), end=world.time(3600))
    assert [(c.caller, c.target, c.status) for c in calls] == [
        ("arbiter", "erp", None),  # at 50 s
        ("oms", "shop", 200),  # the pull, 5 s before the order reached the OMS at 60 s
        ("oms", "erp", 503),  # pushes at 90 s and 110 s
        ("oms", "erp", 201),
    ]
    assert [c.status for c in index.calls_between(start=world.time(100), end=world.time(200))] == [
        201
    ]
    seen = index.activity(since=world.time(60), until=world.time(3600))
    assert set(seen) == {"shop", "oms", "erp", "arbiter"}
    last_shop, recent_shop = seen["shop"]
    assert last_shop == world.time(0)
    assert recent_shop == []
    assert len(seen["oms"][1]) == 3  # seen at 60 s, then two pushes; the pull at 55 s is older
    assert index.activity(since=world.time(0), until=world.time(-1)) == {}


def test_live_since_keeps_live_journeys_whole_and_drops_quiet_ones() -> None:
    world = World()
    world.order(1, at=0)  # quiet after its first minutes
    two = world.order(2, at=0, erp_after=None)  # never reached the ERP...
    two.append(world.seen("oms", 7200, {"oms": oms_id(2)}, state="new"))  # ...seen later: live
    early_probe = world.probe("erp", 100, 503)  # evidence for order 2, though before the cut
    late_probe = world.probe("erp", 7200, 503)
    index = world.index()
    live = index.live_since(world.time(3600))
    assert len(live) == len(two) + 2  # order 2 whole, and the link-level calls since it began
    assert live.add([*two, early_probe, late_probe]) == 0
    as_of = world.time(7300)
    assert live.trace(STANDARD_TOPOLOGY, "shop", "2", as_of=as_of) == index.trace(
        STANDARD_TOPOLOGY, "shop", "2", as_of=as_of
    )
    assert live.trace(STANDARD_TOPOLOGY, "shop", "1", as_of=as_of) is None
    assert live.earliest() == world.time(0)


def test_live_since_keeps_a_quiet_journey_whose_last_verdict_was_a_failure() -> None:
    world = World()
    stuck = world.order(3, at=0, oms_after=None)  # never reached the OMS, nothing since
    world.order(4, at=0)  # done, quiet since
    index = world.index()
    cut = world.time(3600)
    assert len(index.live_since(cut)) == 0  # never judged: nothing says it is open
    index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(7200))
    live = index.live_since(cut)
    assert len(live) == len(stuck)
    # A window within the live period: the same answer as from the whole history.
    window = {"as_of": world.time(7200), "window_seconds": 3000}
    assert live.diagnose(STANDARD_TOPOLOGY, **window) == index.diagnose(STANDARD_TOPOLOGY, **window)


def test_orders_with_the_same_data_share_one_copy_of_it() -> None:
    world = World()
    for n in range(3):
        world.order(n, at=60 * n, data={"total": "199.00", "currency": "PLN", "lines": 2})
    world.order(9, at=300, data={"total": "5", "lines": 1})
    index = world.index()
    facts = [f for facts in vars(index)["_facts"].values() for f in facts]
    data = [f.data for f in facts if getattr(f, "data", None)]
    assert len({id(d) for d in data}) == 2  # one per distinct content, however many orders
    assert {d for d in data} == {(("currency", "PLN"), ("lines", "2"), ("total", "199")),
                                 (("lines", "1"), ("total", "5"))}  # fmt: skip


def test_a_trimmed_index_answers_as_one_built_from_the_events_it_kept() -> None:
    world = World()
    world.busy(80, every=300)
    for n in range(3):
        world.order(n, at=4000 + 600 * n, pushes=(503, 503, 429), erp_after=None)
    world.order(7, at=100, oms_after=None)  # stuck before the cut, quiet since
    for t in range(0, 30000, 900):
        world.call("oms", "shop", t, 503 if t % 3 == 0 else 200)
        world.probe("erp", t + 10, None if t > 20000 else 200)
    world.stock("erp", "SKU-1", 9000, 4)
    world.stock("oms", "SKU-1", 9100, 4)
    index = world.index()
    index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(30000))  # judged: the stuck one is open
    live = index.live_since(world.time(12000))
    held = vars(live)["_ids"]
    assert 0 < len(live) < len(index)
    rebuilt = world.index([e for e in world.events if e.id in held])
    for offset, window in [(30000, 86400), (31000, 3600), (25000, 20000)]:
        as_of = world.time(offset)
        assert live.diagnose(STANDARD_TOPOLOGY, as_of=as_of, window_seconds=window) == (
            rebuilt.diagnose(STANDARD_TOPOLOGY, as_of=as_of, window_seconds=window)
        )
        assert live.link_health(STANDARD_TOPOLOGY, as_of=as_of) == rebuilt.link_health(
            STANDARD_TOPOLOGY, as_of=as_of
        )
        assert live.stock_drift(STANDARD_TOPOLOGY, as_of=as_of) == rebuilt.stock_drift(
            STANDARD_TOPOLOGY, as_of=as_of
        )
    as_of = world.time(30000)
    for namespace, value in [("shop", "7"), ("oms", oms_id(1)), ("sku", "SKU-1")]:
        assert live.trace(STANDARD_TOPOLOGY, namespace, value, as_of=as_of) == rebuilt.trace(
            STANDARD_TOPOLOGY, namespace, value, as_of=as_of
        )
    span = {"since": world.time(0), "until": as_of}
    assert live.activity(**span) == rebuilt.activity(**span)
    assert live.calls_between(start=span["since"], end=as_of) == rebuilt.calls_between(
        start=span["since"], end=as_of
    )
    assert live.version == rebuilt.version


def _containers(value: object, path: str = "index") -> Iterator[tuple[str, object]]:
    """Every dict, list and set the index holds, down through its own objects, by path."""
    for name, held in vars(value).items():
        where = f"{path}.{name}"
        if isinstance(held, dict | list | set):
            yield where, held
            if isinstance(held, dict):
                for key, item in held.items():
                    if isinstance(item, list):
                        yield f"{where}[{key!r}]", item
        elif isinstance(held, UnionFind | CallLogs):
            yield from _containers(held, where)


def _polled_shop(orders: int, until: int) -> World:
    """``orders`` healthy orders, the OMS's list polls of the shop (every third answered 503)
    and Arbiter's probes of the ERP every 15 minutes up to ``until``, a stock reading."""
    world = World()
    world.busy(orders, every=300)
    for t in range(0, until, 900):
        world.call("oms", "shop", t, 503 if t % 3 == 0 else 200)
        world.probe("erp", t + 10, 200)
    world.stock("erp", "SKU-1", until // 10, 4)
    return world


def test_a_copy_goes_its_own_way_and_answers_as_the_index_did() -> None:
    world = _polled_shop(30, 9000)
    world.order(7, at=100, oms_after=None)
    index = world.index()
    as_of = world.time(9000)
    before = index.diagnose(STANDARD_TOPOLOGY, as_of=as_of)
    copied = index.copy()
    # No container is shared (what the copy is written from never changes under it), however
    # many the index comes to hold: a new one not copied fails here.
    mine = dict(_containers(index))
    for where, held in _containers(copied):
        assert held is not mine[where], f"{where} is shared"
    assert copied.diagnose(STANDARD_TOPOLOGY, as_of=as_of) == before
    trace = index.trace(STANDARD_TOPOLOGY, "shop", "7", as_of=as_of)
    # The index goes on: new orders, judging (which sorts a journey's facts in place) and a
    # trim; the copy still answers as the index did when it was made.
    world.order(8, at=9100, pushes=(503, 503), erp_after=None)
    index.add(world.events)
    later = world.time(12000)
    assert index.diagnose(STANDARD_TOPOLOGY, as_of=later) != copied.diagnose(
        STANDARD_TOPOLOGY, as_of=later
    )
    index.live_since(world.time(8000))
    assert copied.diagnose(STANDARD_TOPOLOGY, as_of=as_of) == before
    assert copied.trace(STANDARD_TOPOLOGY, "shop", "7", as_of=as_of) == trace
    assert len(copied) < len(index)


def test_an_events_text_given_with_it_is_kept_as_given() -> None:
    world = World()
    world.order(1, at=0, pulls=(None, 200))
    events = world.events
    stored = [json.dumps(e.to_json(), indent=1) for e in events]  # the store's copy, its own way
    index = WorkspaceIndex()
    assert index.add(events, [None, *stored[1:]]) == len(events)
    assert vars(index)["_json"] == [events[0].json_text(), *stored[1:]]
    trace = index.trace(STANDARD_TOPOLOGY, "shop", "1", as_of=world.time(3600))
    assert trace is not None
    assert trace.events == [e.to_json() for e in events]
    assert index.add(events, stored) == 0  # held already: neither event nor text taken again
    assert len(vars(index)["_json"]) == len(events)


def test_an_index_pickled_again_answers_as_before_and_shares_what_it_shared() -> None:
    world = _polled_shop(40, 20000)
    for n in range(3):
        world.order(n, at=4000 + 600 * n, pushes=(503, 503, 429), erp_after=None)
    index = world.index()
    as_of = world.time(20000)
    before = index.diagnose(STANDARD_TOPOLOGY, as_of=as_of)
    # Written as app.diagnosis.snapshot writes it: every part with a memo of its own.
    state = {
        name: pickle.loads(pickle.dumps(part))  # noqa: S301 (its own bytes)
        for name, part in index.__getstate__().items()
    }
    again = object.__new__(WorkspaceIndex)
    again.__setstate__(state)
    assert again.diagnose(STANDARD_TOPOLOGY, as_of=as_of) == before
    for namespace, value in [("shop", "1"), ("sku", "SKU-1")]:
        assert again.trace(STANDARD_TOPOLOGY, namespace, value, as_of=as_of) == index.trace(
            STANDARD_TOPOLOGY, namespace, value, as_of=as_of
        )
    assert again.activity(since=world.time(0), until=as_of) == index.activity(
        since=world.time(0), until=as_of
    )
    assert len(again) == len(index)
    assert again.add(world.events) == 0  # every event known by its id
    facts = [f for facts in vars(again)["_facts"].values() for f in facts]
    by_event = {f.event: f for f in facts}
    logs = vars(vars(again)["_logs"])
    assert all(by_event[c.event] is c for log in logs["_entity"].values() for c in log)
    assert {id(k) for k in vars(again)["_ids"]} >= {id(f.event) for f in facts}
    interned = vars(again)["_data"]
    assert all(f.data is interned[f.data] for f in facts if getattr(f, "data", None))
    times = {id(t) for ts in vars(again)["_system_times"].values() for t in ts}
    assert {id(f.time) for f in facts} <= times
