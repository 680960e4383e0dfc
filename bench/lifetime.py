"""Memory and restart time of a real `arbiter serve` after 1 day and after 30 days of history.

    .venv/bin/python bench/lifetime.py [--orders-per-day 5000] [--days 1,30]

For each length of history: a throwaway SQLite store gets a workspace with the CONTRACT.md
topology and that many days of the realistic shop traffic of bench/diagnosis.py (orders pulled
by the OMS and pushed to the ERP, stock propagating ERP → OMS → shop, the OMS's polls and
Arbiter's probes, an ERP outage), shifted to end now and written straight into the store (as
the service writes it, not over HTTP: the point is what a restart does with it). Then
`arbiter serve` starts on it, and the script prints the seconds from the start of the process
to the first answered diagnosis of the workspace, and the server's resident memory then and at
its peak (VmRSS, VmHWM).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

import bench.diagnosis as traffic
from app.db.engine import make_engine
from app.events.service import store_events
from bench.ingest import TOKEN, free_port

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


ROOT = Path(__file__).resolve().parents[1]


def serve(data_dir: Path, root: Path = ROOT) -> tuple[subprocess.Popen[bytes], str]:
    """`arbiter serve` of the checkout at ``root`` (an older commit's, to compare)."""
    port = free_port()
    env = dict(os.environ, ARBITER_DATA_DIR=str(data_dir), ARBITER_ADMIN_TOKEN=TOKEN,
               ARBITER_DEMO="false", ARBITER_LOG_LEVEL="warning",
               ARBITER_INCIDENT_INTERVAL_SECONDS="0", PYTHONPATH=str(root))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def first_diagnosis(base: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/api/v1/workspaces/bench/diagnosis", headers=HEADERS,
                                 timeout=timeout)  # fmt: skip
            if response.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit("no diagnosis answered")


def memory_mb(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def fill(data_dir: Path, days: int, orders_per_day: int) -> int:
    """Create the workspace through the API, then write the history into the store."""
    process, base = serve(data_dir)
    try:
        first_diagnosis_ready = time.monotonic() + 60
        while time.monotonic() < first_diagnosis_ready:
            try:
                httpx.get(f"{base}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        api = f"{base}/api/v1/workspaces/bench"
        httpx.put(api, headers=HEADERS).raise_for_status()
        topology = traffic.TOPOLOGY.to_json()
        httpx.put(f"{api}/topology", json=topology, headers=HEADERS).raise_for_status()
    finally:
        process.terminate()
        process.wait(timeout=30)
    traffic.ORDERS_PER_DAY = orders_per_day
    total = int(days * orders_per_day * traffic.EVENTS_PER_ORDER)
    stream, end = traffic.workspace(total)
    shift = datetime.now(UTC) - end
    engine = make_engine(f"sqlite:///{data_dir / 'arbiter.db'}")
    stored = 0
    batch = []
    for event in stream:
        batch.append(event.model_copy(update={"time": event.time + shift}))
        if len(batch) == 10_000:
            with engine.begin() as connection:
                stored += store_events(connection, "bench", batch).accepted
            batch = []
    if batch:
        with engine.begin() as connection:
            stored += store_events(connection, "bench", batch).accepted
    engine.dispose()
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders-per-day", type=int, default=5000)
    parser.add_argument("--days", default="1,30")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server restarts")
    args = parser.parse_args()
    print(f"{args.orders_per_day} orders a day; load average {os.getloadavg()[0]:.2f}")
    print(f"{'days':>4} {'events':>10} {'fill s':>7} {'restart→diagnosis s':>20} "
          f"{'RSS MB':>7} {'peak MB':>8}")  # fmt: skip
    for days in (int(d) for d in args.days.split(",")):
        data_dir = Path(tempfile.mkdtemp(prefix="arbiter-lifetime-"))
        began = time.perf_counter()
        events = fill(data_dir, days, args.orders_per_day)
        filled = time.perf_counter() - began
        started = time.perf_counter()
        process, base = serve(data_dir, args.root)
        try:
            first_diagnosis(base)
            restart = time.perf_counter() - started
            rss, peak = memory_mb(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
        print(f"{days:>4} {events:>10,} {filled:>7.0f} {restart:>20.1f} {rss:>7.0f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
