"""Delivery order and redelivery never change a diagnosis (hypothesis)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from graph.model import Event
from tests.scenarios import STANDARD_TOPOLOGY, World, redelivered


def mixed_world() -> World:
    """Every kind of trouble at once, with skewed clocks: the hardest stream to keep stable."""
    world = World(skew={"shop": -90, "erp": 100})
    world.busy(12, every=50)
    for n in range(4):
        world.order(n, at=900 + 40 * n, pushes=(503, None), erp_after=None)
        world.order(10 + n, at=900 + 40 * n, pulls=(), oms_after=None)
        world.order(20 + n, at=3000, erp_after=1500)  # late, with the ERP answering
        world.order(30 + n, at=900, erp_data={"total": "1.00"})
    world.order(40, at=7000, pushes=(503,), erp_after=None)  # still pending
    for minute in range(10):
        world.call("oms", "shop", 900 + 60 * minute, 503)
        world.probe("erp", 900 + 60 * minute, None)
    for i in range(3):
        world.stock("erp", f"S-{i}", 0, 10)
        world.stock("oms", f"S-{i}", 100, 10)
        world.stock("shop", f"S-{i}", 200, 10 + i)
        world.stock("erp", f"S-{i}", 1000, 7)
    return world


WORLD = mixed_world()
AS_OF = WORLD.time(7400)


def verdict(events: list[Event]) -> tuple[object, ...]:
    index = WORLD.index(events)
    diagnosis = index.diagnose(STANDARD_TOPOLOGY, as_of=AS_OF).model_dump(mode="json")
    health = [h.model_dump(mode="json") for h in index.link_health(STANDARD_TOPOLOGY, as_of=AS_OF)]
    drift = [d.model_dump(mode="json") for d in index.stock_drift(STANDARD_TOPOLOGY, as_of=AS_OF)]
    trace = index.trace(STANDARD_TOPOLOGY, "shop", "1", as_of=AS_OF)
    return diagnosis, health, drift, trace and trace.model_dump(mode="json")


BASELINE = verdict(WORLD.events)


def test_baseline_names_the_trouble() -> None:
    diagnosis = BASELINE[0]
    assert isinstance(diagnosis, dict)
    modes = {s["mode"] for s in diagnosis["suspects"]}
    assert {"unavailable", "late", "mismatch"} <= modes


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_permuted_and_repeated_delivery_gives_the_same_answer(seed: int) -> None:
    assert verdict(redelivered(WORLD.events, seed=seed, repeat=0.3)) == BASELINE


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), cut=st.floats(0.1, 0.9))
def test_incremental_feeding_with_diagnoses_between_gives_the_same_answer(
    seed: int, cut: float
) -> None:
    events = redelivered(WORLD.events, seed=seed)
    split = int(len(events) * cut)
    index = WORLD.index(events[:split])
    # Diagnose in between, at another as_of, so that cached verdicts must be invalidated.
    index.diagnose(STANDARD_TOPOLOGY, as_of=WORLD.time(random.Random(seed).uniform(0, 9000)))
    index.add(events[split:])
    diagnosis = index.diagnose(STANDARD_TOPOLOGY, as_of=AS_OF).model_dump(mode="json")
    assert diagnosis == BASELINE[0]
