"""An ordinary shop day blames nobody, and one fault blames only the right party: a short run of
`bench/realism.py` (the demo as `make run` starts it, polled every few seconds).

The demo's own pace (60 s SLA, pollers every 10 s, bank transfers paid after minutes) needs
half an hour to show much; this run keeps the same shapes on a faster clock so it fits CI:
SLA 20 s, pollers every 2 s, bank transfers paid after 25-75 s (longer than the SLA, so unpaid
orders wait past it), stock changes every ~5 s. `-m "not realism"` leaves it out.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.realism]

ROOT = Path(__file__).resolve().parents[2]
FAST_DAY = {
    "ARBITER_DEMO_SLA_SECONDS": "20",
    "ARBITER_DEMO_POLL_INTERVAL_SECONDS": "2",
    "SANDBOX_ORDER_INTERVAL": "1",
    "SANDBOX_STOCK_INTERVAL": "5",
    "SANDBOX_INTEGRATION_INTERVAL": "1",
    "SANDBOX_BANK_TRANSFER_WAIT": "50",
}


def _realism(fault: str, minutes: float, *params: str) -> subprocess.CompletedProcess[str]:
    env_args = [arg for name, value in FAST_DAY.items() for arg in ("--env", f"{name}={value}")]
    env_args += [arg for param in params for arg in ("--param", param)]
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "realism.py"),
            "--fault",
            fault,
            "--minutes",
            str(minutes),
            "--every",
            "3",
            *env_args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=minutes * 60 + 120,
        check=False,
    )


@pytest.mark.parametrize(
    ("fault", "minutes", "params"),
    [
        # long enough for bank transfers to be paid, online payments to fail and orders to be
        # cancelled unpaid, each past the SLA
        ("none", 2.5, ()),
        # down for 40 s, then the backlog is pushed: right party while down and once recovered
        ("outage:erp", 1.5, ("duration_seconds=40",)),
    ],
)
def test_realism_run_blames_only_the_fault(
    fault: str, minutes: float, params: tuple[str, ...]
) -> None:
    result = _realism(fault, minutes, *params)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS" in result.stdout
