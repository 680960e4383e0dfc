"""The interpreter shared by the service's threads: the collector around index builds."""

from __future__ import annotations

import gc
from datetime import timedelta

import bench.diagnosis as traffic
from app import gil
from app.gil import held_then_frozen
from graph.index import WorkspaceIndex


def test_the_collector_is_held_during_a_build_and_resumes_after() -> None:
    assert gc.isenabled()
    with held_then_frozen():
        assert not gc.isenabled()
        with held_then_frozen():  # nested (or another thread's build)
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0
    gc.unfreeze()


def test_the_collector_is_held_while_a_snapshot_is_written_and_nothing_frozen() -> None:
    gc.unfreeze()
    assert gc.isenabled()
    with gil.held():
        assert not gc.isenabled()
        with held_then_frozen():  # a build meanwhile: the collector stays held until both end
            assert not gc.isenabled()
        assert not gc.isenabled()
        made = [[n] for n in range(100)]  # the write's short-lived objects: not frozen
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # the build's end froze what was alive then
    gc.unfreeze()
    with gil.held():
        again = [[n] for n in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.is_tracked(made[0])
    assert gc.is_tracked(again[0])


def test_a_dropped_index_leaves_no_reference_cycle() -> None:
    # Frozen objects are freed by reference counting only: an index that made reference
    # cycles would stay in memory once replaced (the trim makes a new one).
    stream, end = traffic.workspace(5000)
    gc.collect()
    gc.disable()
    try:
        index = WorkspaceIndex(skew_tolerance_seconds=10)
        index.add(list(stream))
        index.diagnose(traffic.TOPOLOGY, as_of=end)
        trimmed = index.live_since(end - timedelta(hours=6), keep=[])
        gc.collect()
        del index, trimmed
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_release_takes_apart_only_what_nothing_else_holds() -> None:
    from app.gil import release

    shared = [1, 2, 3]
    inner = {"x": [4, 5], "y": {6, 7}}
    probe = inner["y"]  # held here as well
    top = {"inner": inner, "shared": shared}
    held: list[object] = [top]
    del inner, top
    release(held)
    assert held == []
    assert shared == [1, 2, 3]
    assert probe == {6, 7}


def test_a_released_index_leaves_its_successor_whole() -> None:
    from app.gil import release

    stream, end = traffic.workspace(5000)
    events = list(stream)
    old = WorkspaceIndex(skew_tolerance_seconds=10)
    old.add(events)
    new = old.live_since(end - timedelta(hours=6), keep=[])
    replaced: list[object] = [old]
    del old
    release(replaced)
    again = WorkspaceIndex(skew_tolerance_seconds=10)
    again.add(events)
    expected = again.live_since(end - timedelta(hours=6), keep=[])
    assert new.diagnose(traffic.TOPOLOGY, as_of=end) == expected.diagnose(
        traffic.TOPOLOGY, as_of=end
    )


def test_the_young_generation_is_collected_less_often_and_the_older_as_before() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)  # CPython's own
        gil.configure()
        assert gc.get_threshold() == (gil.YOUNG_THRESHOLD, 10, 10)
        assert gil.YOUNG_THRESHOLD > 700
    finally:
        gc.set_threshold(*before)
