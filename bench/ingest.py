"""Ingest throughput of a real `arbiter serve`: events per second through POST .../events.

    .venv/bin/python bench/ingest.py [--events 200000] [--batch 1000] [--clients 2]
                                     [--database-url postgresql+psycopg://...]

Starts the service on a free loopback port with a throwaway data dir (SQLite unless
--database-url is given), creates a workspace with the CONTRACT.md topology, then posts
realistic order events in batches from concurrent clients and prints events/s, batch latency
(p50, p95) and the rate of re-posting the same batches (all duplicates). Every 202 means the
batch was committed with a full fsync. Then, as the ceiling on the same machine in the same
run, the same events inserted straight into a SQLite file of the same schema and pragmas with
the driver's ``executemany`` (one transaction per batch, events and refs, no HTTP, no
validation).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine

from app.db.engine import make_engine
from app.db.tables import event_refs, metadata
from sandbox.topology import demo_topology

TOKEN = "arb_bench_admin_token"  # noqa: S105 - a throwaway server's token
TOPOLOGY = demo_topology()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def batch(start: int, size: int) -> list[dict[str, Any]]:
    """Realistic order events: shop seen, OMS seen (both ids), OMS's push call, ERP seen."""
    events: list[dict[str, Any]] = []
    for n in range(start, start + size):
        order, kind = divmod(n, 4)
        minute = (
            f"2026-11-25T{10 + (order // 3600) % 10:02d}:{(order // 60) % 60:02d}:{order % 60:02d}Z"
        )
        shop, oms = str(100_000 + order), str(7_000_000 + order)
        if kind == 0:
            event = {
                "kind": "seen",
                "system": "shop",
                "refs": {"shop": shop},
                "state": "processing",
                "data": {"total": "199.00", "currency": "PLN", "lines": 2},
            }
        elif kind == 1:
            event = {
                "kind": "seen",
                "system": "oms",
                "refs": {"oms": oms, "shop": shop},
                "state": "new",
            }
        elif kind == 2:
            event = {
                "kind": "call",
                "system": "oms",
                "target": "erp",
                "refs": {"oms": oms},
                "outcome": {"status": 201, "duration_ms": 180},
            }
        else:
            event = {
                "kind": "seen",
                "system": "erp",
                "refs": {"erp": f"ZK/{order}/2026", "oms": oms},
            }
        events.append({"id": f"bench-{n}", "time": minute, "flow": "order", **event})
    return events


def run(url: str, total: int, size: int, clients: int) -> tuple[float, list[float]]:
    """Post ``total`` events; wall time and each batch's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    starts = list(range(0, total, size))

    def worker(mine: list[int]) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as client:
            for start in mine:
                began = time.perf_counter()
                response = client.post(url, json={"events": batch(start, min(size, total - start))})
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker, args=(starts[i::clients],)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies


def raw_sqlite(path: Path, total: int, size: int) -> float:
    """Events/s of the driver's executemany into the same schema, one commit per batch."""
    url = f"sqlite:///{path}"
    make_engine(url).dispose()  # the pragmas the service uses (WAL) stay on the file
    metadata.create_all(create_engine(url))
    import sqlite3

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("INSERT INTO workspaces VALUES ('bench', 'bench', '2026-11-25 00:00:00')")
    batches = []
    seq = 0
    ref_columns = [column.name for column in event_refs.c]  # as the schema has them now
    for start in range(0, total, size):
        rows, refs = [], []
        for item in batch(start, min(size, total - start)):
            seq += 1
            body = json.dumps(item, separators=(",", ":"))
            received = "2026-11-25 00:00:00"
            rows.append((seq, "bench", item["id"], item["time"], item["flow"], item["kind"],
                         item["system"], item.get("target"), body, received))  # fmt: skip
            for ns, value in item["refs"].items():
                ref = {"seq": seq, "namespace": ns, "workspace_id": "bench", "value": value,
                       "time": item["time"]}  # fmt: skip
                refs.append(tuple(ref[name] for name in ref_columns))
        batches.append((rows, refs))
    began = time.perf_counter()  # the inserts and commits only, not making the rows
    for rows, refs in batches:
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        marks = ",".join("?" * len(ref_columns))
        connection.executemany(f"INSERT INTO event_refs VALUES ({marks})", refs)  # noqa: S608
        connection.execute("COMMIT")
    return total / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-bench-"))
    port = free_port()
    env = dict(os.environ, ARBITER_DATA_DIR=str(data_dir), ARBITER_ADMIN_TOKEN=TOKEN,
               ARBITER_DEMO="false", ARBITER_LOG_LEVEL="warning",
               ARBITER_INCIDENT_INTERVAL_SECONDS="0")  # fmt: skip
    if args.database_url:
        env["ARBITER_DATABASE_URL"] = args.database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1/workspaces/bench"
    try:
        for _ in range(300):
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        httpx.put(base, headers=headers).raise_for_status()
        httpx.put(f"{base}/topology", json=TOPOLOGY, headers=headers).raise_for_status()
        store = "PostgreSQL" if args.database_url else "SQLite (WAL, synchronous=FULL)"
        print(
            f"store: {store}; {args.events} events, batches of {args.batch}, {args.clients} clients"
        )
        rates = {}
        for label in ("new events", "re-posted (all duplicates)"):
            wall, latencies = run(f"{base}/events", args.events, args.batch, args.clients)
            p50 = statistics.median(latencies) * 1000
            p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
            rates[label] = rate = args.events / wall
            print(
                f"{label:28s} {rate:10,.0f} events/s   batch p50 {p50:5.0f} ms   p95 {p95:5.0f} ms"
            )
        raw = raw_sqlite(data_dir / "raw.db", args.events, args.batch)
        print(f"{'raw SQLite executemany':28s} {raw:10,.0f} events/s   "
              f"API / raw: {rates['new events'] / raw:.2f}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
