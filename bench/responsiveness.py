"""Does the service keep answering while a cold diagnosis of a large workspace runs?

    .venv/bin/python -m bench.responsiveness [--events 1000000] [--probe-ms 20] [--data-dir DIR]

Writes about ``--events`` events of bench/diagnosis.py's shop traffic (50,000 orders a day),
ending now, into a throwaway SQLite store (as bench/lifetime.py does), with the index's live
period long enough to hold all of them; starts `arbiter serve` on it without background work
(so nothing warms the index), gives the shop a WooCommerce connection with a webhook secret,
then probes from two threads, one request at a time each, every ``--probe-ms``: ``GET /healthz``
and a signed ``order.updated`` delivery (every one a new order). First for a few seconds with
nothing else running, then while the first, cold, diagnosis of the workspace runs (the index
built from the store). Prints p50 / p99 / max of each probe in both periods, and how long the
diagnosis took. ``--data-dir`` keeps the filled store for the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench import lifetime, webhooks
from bench.diagnosis import EVENTS_PER_ORDER, ORDERS_PER_DAY
from bench.ingest import TOKEN, free_port
from connectors.webhooks import sign_woocommerce

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def serve(data_dir: Path, live_days: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = dict(os.environ, ARBITER_DATA_DIR=str(data_dir), ARBITER_ADMIN_TOKEN=TOKEN,
               ARBITER_DEMO="false", ARBITER_LOG_LEVEL="warning", ARBITER_BACKGROUND="false",
               ARBITER_INDEX_LIVE_DAYS=str(live_days))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


class Probe(threading.Thread):
    """One request at a time, every ``every`` seconds; (moment sent, seconds) of each."""

    def __init__(self, send: object, every: float) -> None:
        super().__init__(daemon=True)
        self.send = send
        self.every = every
        self.times: list[tuple[float, float]] = []
        self.failures = 0
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            began = time.perf_counter()
            ok = self.send(n)  # type: ignore[operator]
            self.times.append((began, time.perf_counter() - began))
            self.failures += not ok
            n += 1
            self.stop.wait(self.every)

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for sent, seconds in self.times if start <= sent < end]


def summary(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return "(too few)"
    ms = sorted(x * 1000 for x in latencies)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[-1]
    return f"n {len(ms):5d}  p50 {statistics.median(ms):7.1f}  p99 {p99:7.1f}  max {ms[-1]:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--probe-ms", type=float, default=20)
    parser.add_argument("--baseline-seconds", type=float, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    days = args.events / (ORDERS_PER_DAY * EVENTS_PER_ORDER)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="arbiter-responsiveness-"))
    if not (data_dir / "arbiter.db").exists():
        began = time.perf_counter()
        stored = lifetime.fill(data_dir, days, ORDERS_PER_DAY)  # type: ignore[arg-type]
        print(f"filled {stored:,} events in {time.perf_counter() - began:.0f} s")
    live_days = int(days) + 2
    process, base = serve(data_dir, live_days)
    order = json.loads(webhooks.FIXTURE.read_text())
    client = httpx.Client(timeout=60)
    try:
        webhooks.wait_up(f"{base}/healthz")
        api = f"{base}/api/v1/workspaces/bench"
        connection = webhooks.shop_connection()
        client.put(
            f"{api}/systems/shop/connection", headers=HEADERS, json=connection
        ).raise_for_status()
        stamp = int(time.time())
        hooks = httpx.Client(timeout=60)
        health = httpx.Client(timeout=60)

        def deliver(n: int) -> bool:
            number = stamp * 1000 + n
            body = json.dumps({**order, "id": number, "number": str(number)}).encode()
            headers = {
                "Content-Type": "application/json",
                "X-WC-Webhook-Topic": "order.updated",
                "X-WC-Webhook-Delivery-ID": f"probe-{number}",
                "X-WC-Webhook-Signature": sign_woocommerce(body, webhooks.SECRET),
            }
            answer = hooks.post(f"{base}/webhooks/bench/shop", content=body, headers=headers)
            return answer.status_code == 200

        def healthz(_n: int) -> bool:
            return health.get(f"{base}/healthz").status_code == 200

        deliver(-1)  # the receiver is built by the first delivery
        probes = {"healthz": Probe(healthz, args.probe_ms / 1000),
                  "webhook ack": Probe(deliver, args.probe_ms / 1000)}  # fmt: skip
        for probe in probes.values():
            probe.start()
        quiet_from = time.perf_counter()
        time.sleep(args.baseline_seconds)
        cold_from = time.perf_counter()
        answer = client.get(f"{api}/diagnosis", headers=HEADERS, timeout=600)
        cold_to = time.perf_counter()
        answer.raise_for_status()
        for probe in probes.values():
            probe.stop.set()
            probe.join()
        load = os.getloadavg()[0]
        print(f"{args.events:,} events asked; live period {live_days} days; "
              f"load average {load:.2f}; probes every {args.probe_ms:g} ms")  # fmt: skip
        print(f"cold diagnosis: {cold_to - cold_from:.1f} s, "
              f"{len(answer.json()['suspects'])} suspects")  # fmt: skip
        for name, probe in probes.items():
            print(f"{name:12s} before     {summary(probe.between(quiet_from, cold_from))}")
            print(f"{name:12s} during     {summary(probe.between(cold_from, cold_to))}")
            if probe.failures:
                print(f"{name:12s} {probe.failures} answers were not 200")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
