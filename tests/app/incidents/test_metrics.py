"""The incident evaluator's figures on /metrics: open incidents per workspace, diagnosis time."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings
from tests.app.incidents.test_lifecycle import erp_outage

__all__ = ["arbiter", "arbiter_settings"]  # fixtures (tests.app.incidents.fixtures)


def _samples(arbiter: Arbiter, name: str) -> list[tuple[dict[str, str], float]]:
    response = arbiter.client.get("/metrics")
    assert response.status_code == 200
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == name
    ]


def _evaluator_diagnoses(arbiter: Arbiter) -> float:
    samples = _samples(arbiter, "arbiter_diagnosis_duration_seconds_count")
    return sum(value for labels, value in samples if labels.get("source") == "evaluator")


def test_open_incidents_and_evaluator_diagnoses_are_exported(arbiter: Arbiter) -> None:
    assert _samples(arbiter, "arbiter_open_incidents") == []
    arbiter.world.busy(150, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)
    diagnosed = _evaluator_diagnoses(arbiter)
    assert len(arbiter.evaluate(3300).opened) == 1
    assert _evaluator_diagnoses(arbiter) == diagnosed + 1
    assert _samples(arbiter, "arbiter_open_incidents") == [({"workspace": "acme"}, 1.0)]
    for offset in (4300, 5000, 5500):  # as test_lifecycle: escalated, monitored, then resolved
        arbiter.evaluate(offset)
    assert len(arbiter.evaluate(6000).resolved) == 1
    assert _samples(arbiter, "arbiter_open_incidents") == []
