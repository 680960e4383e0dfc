"""Who is blamed: first failing hop only, down systems, link-level evidence, Arbiter's probes."""

from __future__ import annotations

from graph.results import Diagnosis
from tests.scenarios import STANDARD_TOPOLOGY, World, oms_id

HOUR = 3600.0


def diagnose(world: World, at: float) -> Diagnosis:
    return world.index().diagnose(STANDARD_TOPOLOGY, as_of=world.time(at))


def test_downstream_link_is_blocked_not_blamed() -> None:
    world = World()
    world.busy(20, every=60)
    for n in range(8):
        world.order(n, at=1500 + 60 * n, pulls=(503, 503), oms_after=None)
    diagnosis = diagnose(world, 3 * HOUR)
    assert [s.link.to for s in diagnosis.suspects if s.link] == ["oms"]
    trace = world.index().trace(STANDARD_TOPOLOGY, "shop", "3", as_of=world.time(3 * HOUR))
    assert trace is not None
    assert [(h.link.to, h.status) for h in trace.hops] == [("oms", "failed"), ("erp", "blocked")]
    assert trace.failure is not None
    assert trace.failure.link.to == "oms"


def test_late_upstream_keeps_downstream_failure_out_of_the_count() -> None:
    world = World()
    world.busy(20, every=60)
    world.order(1, at=1000, oms_after=1200, pushes=(503,), erp_after=None)
    suspects = diagnose(world, 4 * HOUR).suspects
    assert [(s.mode, s.link.to if s.link else None) for s in suspects] == [("late", "oms")]


def test_two_failures_ranked_by_how_much_they_explain() -> None:
    world = World()
    world.busy(30, every=60)
    for n in range(30):
        world.order(n, at=2000 + 30 * n, pushes=(503, 503), erp_after=None)
    world.order(99, at=2000, pulls=(), oms_after=None)
    suspects = diagnose(world, 4 * HOUR).suspects
    assert [s.mode for s in suspects] == ["unavailable", "missing"]
    assert suspects[0].confidence > suspects[1].confidence
    assert all(0 <= s.confidence <= 1 for s in suspects)


def test_link_level_evidence_explains_stuck_orders() -> None:
    world = World()
    world.busy(20, every=60)
    for n in range(5):
        world.order(n, at=1500 + 60 * n, pulls=(), oms_after=None)
    for minute in range(20):
        world.call("oms", "shop", 1500 + 60 * minute, 503)  # the list poll, about no order
    suspect = diagnose(world, 3 * HOUR).suspects[0]
    assert (suspect.mode, suspect.responsible) == ("unavailable", "Shop agency")
    assert suspect.evidence.calls
    assert all(c.link_level for c in suspect.evidence.calls)


def test_successful_list_polls_leave_it_missing() -> None:
    world = World()
    for n in range(5):
        world.order(n, at=1500 + 60 * n, pulls=(), oms_after=None)
    for minute in range(20):
        world.call("oms", "shop", 1500 + 60 * minute, 200)
    assert diagnose(world, 3 * HOUR).suspects[0].mode == "missing"


def test_failing_probes_turn_missing_into_unavailable() -> None:
    world = World()
    world.busy(20, every=60)
    for n in range(5):
        world.order(n, at=1500 + 60 * n, pushes=(), erp_after=None)
    for k in range(10):
        world.probe("erp", 1500 + 120 * k, None)
    suspect = diagnose(world, 3 * HOUR).suspects[0]
    assert (suspect.mode, suspect.responsible) == ("unavailable", "ERP partner")
    assert "Arbiter" in suspect.summary


def _erp_down() -> World:
    """Steady traffic; from 2000 s on the ERP answers neither the orders pushed to it (no
    answer, then 503) nor the OMS's stock calls, for 15 minutes."""
    world = World()
    world.busy(20, every=60)
    for n in range(10):
        world.order(n, at=2000 + 60 * n, pushes=(None, 503), erp_after=None)
    for minute in range(15):
        world.call("oms", "erp", 2000 + 60 * minute, None, flow="stock")
    return world


def test_erp_down_names_the_system() -> None:
    world = _erp_down()
    suspect = diagnose(world, 3 * HOUR).suspects[0]
    assert suspect.mode == "down"
    assert (suspect.link, suspect.system, suspect.responsible) == (None, "erp", "ERP partner")
    assert {(ln.from_, ln.to) for ln in suspect.links} == {("oms", "erp")}
    assert suspect.summary.startswith("erp is down")
    payload = suspect.model_dump(mode="json", by_alias=True)
    assert payload["link"] is None
    assert payload["system"] == "erp"


def test_oms_down_with_failing_probes() -> None:
    world = World()
    world.busy(20, every=60)
    for n in range(6):
        world.order(n, at=2000 + 60 * n, pulls=(), oms_after=None)
    # Orders already in the OMS are not pushed on either.
    for n in range(10, 14):
        world.order(n, at=1700 + 30 * n, pushes=(), erp_after=None, oms_after=300)
    for k in range(10):
        world.probe("oms", 2000 + 120 * k, None)
    suspect = diagnose(world, 3 * HOUR).suspects[0]
    assert (suspect.mode, suspect.system, suspect.responsible) == ("down", "oms", "BaseLinker")
    assert suspect.affected == 10


def test_erp_answering_probes_is_not_down() -> None:
    world = World()
    for n in range(10):
        world.order(n, at=2000 + 60 * n, pushes=(503,), erp_after=None)
    for minute in range(15):
        world.call("oms", "erp", 2000 + 60 * minute, 200, flow="stock")
    assert diagnose(world, 3 * HOUR).suspects[0].mode == "unavailable"


def test_evidence_entities_open_traces() -> None:
    world = World()
    for n in range(12):
        world.order(n, at=2000 + 60 * n, pushes=(503,), erp_after=None)
    suspect = diagnose(world, 3 * HOUR).suspects[0]
    assert 0 < len(suspect.evidence.entities) <= 10
    index = world.index()
    for ref in suspect.evidence.entities:
        assert ref.namespace == "oms"
        assert (
            index.trace(STANDARD_TOPOLOGY, ref.namespace, ref.value, as_of=world.time(3 * HOUR))
            is not None
        )
    assert suspect.evidence.entities[0].value == oms_id(0)


def test_suspect_json_matches_the_contract() -> None:
    world = World()
    for n in range(3):
        world.order(n, at=2000, pushes=(503,), erp_after=None)
    payload = diagnose(world, 3 * HOUR).model_dump(mode="json", by_alias=True)
    assert payload["as_of"] == "2026-11-25T13:00:00Z"
    suspect = payload["suspects"][0]
    assert suspect["link"] == {"flow": "order", "from": "oms", "to": "erp"}
    expected = {"link", "system", "mode", "responsible", "confidence", "affected", "healthy",
                "first_seen", "last_seen", "summary", "evidence"}  # fmt: skip
    assert expected <= suspect.keys()
    assert suspect["first_seen"].endswith("Z")
    call = suspect["evidence"]["calls"][0]
    assert {"time", "caller", "target", "status", "error", "duration_ms"} <= call.keys()
    assert suspect["evidence"]["entities"][0] == {"namespace": "oms", "value": oms_id(0)}


def test_link_health() -> None:
    world = World()
    world.busy(20, every=60)
    for n in range(10):
        world.order(n, at=2000 + 60 * n, pushes=(503,), erp_after=None)
    health = world.index().link_health(STANDARD_TOPOLOGY, as_of=world.time(3 * HOUR))
    by_link = {(h.link.flow, h.link.from_, h.link.to): h for h in health}
    order_in = by_link[("order", "shop", "oms")]
    order_out = by_link[("order", "oms", "erp")]
    assert order_in.status == "healthy"
    assert order_in.entities.ok == 30
    assert order_out.status == "failed"
    assert (order_out.mode, order_out.responsible) == ("unavailable", "ERP partner")
    assert order_out.entities.failed == 10
    assert order_out.call_error_rate is not None
    assert order_out.call_error_rate > 0.2
    assert order_out.last_success is not None
    assert by_link[("stock", "erp", "oms")].status == "no_data"


def test_link_health_blocked() -> None:
    world = World()
    for n in range(10):
        world.order(n, at=2000 + 60 * n, pulls=(503,), oms_after=None)
    health = world.index().link_health(STANDARD_TOPOLOGY, as_of=world.time(3 * HOUR))
    statuses = {(h.link.from_, h.link.to, h.link.flow): h.status for h in health}
    assert statuses[("shop", "oms", "order")] == "failed"


def test_erp_back_after_an_outage_was_down() -> None:
    world = _erp_down()
    for minute in range(15):
        world.probe("erp", 2000 + 60 * minute, 503)
    world.probe("erp", 5000, 200)
    suspect = diagnose(world, 3 * HOUR).suspects[0]
    assert suspect.mode == "down"
    assert suspect.summary.startswith("erp was down from 10:33 UTC to 11:23 UTC")


def test_throttled_link_explains_orders_the_caller_held_back() -> None:
    world = World()
    world.busy(20, every=60)
    # The ERP throttles: the first orders get 429s, the OMS holds the rest back untried.
    for n in range(3):
        world.order(n, at=1500 + 10 * n, pushes=(429, 429, 429), erp_after=None)
    for n in range(3, 9):
        world.order(n, at=1530 + 10 * n, pushes=(), erp_after=None)
    suspects = diagnose(world, 3 * HOUR).suspects
    assert [(s.mode, s.responsible) for s in suspects] == [("rate_limited", "ERP partner")]
    assert suspects[0].affected == 9


def test_down_after_answering_earlier_in_the_period() -> None:
    world = World()
    world.busy(20, every=60)
    # Stock pulls answered until 1500 s, then nothing answers: the erp went down then.
    for t in range(1200, 1500, 30):
        world.call("oms", "erp", t, 200, flow="stock")
    for t in range(1500, 3000, 30):
        world.call("oms", "erp", t, 503, flow="stock")
    for n in range(6):
        world.order(n, at=1400 + 30 * n, pushes=(503, 503, 503), erp_after=None)
    suspect = diagnose(world, 2 * HOUR).suspects[0]
    assert (suspect.mode, suspect.system, suspect.responsible) == ("down", "erp", "ERP partner")


def test_accepted_but_receiver_unobservable_is_not_lost() -> None:
    world = World()
    world.busy(20, every=60)
    for n in range(5):
        world.order(n, at=1500 + 30 * n, pushes=(201,), erp_after=None)
    for t in range(1600, 6000, 60):
        world.probe("erp", t, 503)
    modes = {s.mode for s in diagnose(world, 2 * HOUR).suspects}
    assert "lost" not in modes
    assert modes & {"unavailable", "down"}


def test_throttled_on_another_flow_explains_the_held_back_orders() -> None:
    world = World()
    world.busy(20, every=60)
    # The ERP throttles the OMS's account: its stock reads get 429, no order is even tried.
    for t in range(1500, 3000, 60):
        world.call("oms", "erp", t, 429, flow="stock")
    for n in range(6):
        world.order(n, at=1500 + 30 * n, pushes=(), erp_after=None)
    suspects = diagnose(world, 2 * HOUR).suspects
    assert [(s.mode, s.responsible) for s in suspects][:1] == [("rate_limited", "ERP partner")]
