"""The incident evaluator opens no incident for a failure the planned maintenance explains,
and still opens one for another system's failure meanwhile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.app.incidents.fixtures import Arbiter, arbiter, arbiter_settings
from tests.app.incidents.test_lifecycle import erp_outage

__all__ = ["arbiter", "arbiter_settings"]


@pytest.mark.parametrize(("system", "opens"), [("erp", False), ("shop", True)])
def test_no_incident_for_the_system_in_maintenance(
    arbiter: Arbiter, system: str, opens: bool
) -> None:
    arbiter.world.busy(150, start=0, every=60)
    erp_outage(arbiter.world, start=1800, orders=40)
    start = arbiter.world.time(1700)
    window = {
        "system": system,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
    }
    answer = arbiter.client.post(f"{arbiter.base}/maintenance", json=window)
    assert answer.status_code == 201, answer.text
    assert bool(arbiter.evaluate(3300).opened) is opens
    assert bool(arbiter.incidents()) is opens
