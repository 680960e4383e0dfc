"""Ingest throughput of a real `arbiter serve`: events per second through POST .../events.

    .venv/bin/python bench/ingest.py [--events 200000] [--batch 1000] [--clients 2] [--runs 1]
                                     [--root DIR] [--profile PREFIX]
                                     [--database-url postgresql+psycopg://...]

Starts the service (from ``--root``, default this checkout: point it at an unpacked older
commit to measure before and after in one session) on a free loopback port with a throwaway
data dir (SQLite unless --database-url is given), creates a workspace with the CONTRACT.md
topology, then posts realistic order events in batches from concurrent clients and prints
events/s, batch latency (p50, p95) and the rate of re-posting the same batches (all
duplicates). Every 202 means the batch was committed with a full fsync. The request bodies are
encoded before the clock starts, as the ceiling's rows are: the clients share the machine's
cores with the server, and only the server is measured. Then, as the ceiling on the same
machine in the same run, the same events inserted straight into a SQLite file of the same
schema and pragmas with the driver's ``executemany`` (one transaction per batch, events and
refs, no HTTP, no validation). ``--runs`` repeats all of it on fresh events (new ids) in the
same server; ``--profile`` records the server's GIL-holding samples with py-spy during each
run's new events (speedscope JSON; ``SPY_MODE=--idle`` for wall time instead).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
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


ROOT = Path(__file__).resolve().parents[1]


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


def bodies(first: int, total: int, size: int) -> list[bytes]:
    """The request bodies of ``total`` events from number ``first``, ``size`` a batch."""
    return [
        json.dumps({"events": batch(start, min(size, first + total - start))}).encode()
        for start in range(first, first + total, size)
    ]


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process has used so far (Linux), or NaN."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, posts: list[bytes], clients: int) -> tuple[float, list[float]]:
    """Post every body; wall time and each batch's latency."""
    latencies: list[float] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def worker(mine: list[bytes]) -> None:
        with httpx.Client(headers=headers, timeout=120) as client:
            for body in mine:
                began = time.perf_counter()
                response = client.post(url, content=body)
                response.raise_for_status()
                with lock:
                    latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=worker, args=(posts[i::clients],)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began, latencies


def raw_sqlite(path: Path, first: int, total: int, size: int) -> tuple[float, float]:
    """Events/s of the driver's executemany into the same schema, one commit per batch, and
    the CPU seconds it took an event."""
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
    for start in range(first, first + total, size):
        rows, refs = [], []
        for item in batch(start, min(size, first + total - start)):
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
    began, cpu = time.perf_counter(), time.process_time()  # the inserts and commits only
    for rows, refs in batches:
        connection.execute("BEGIN")
        connection.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        marks = ",".join("?" * len(ref_columns))
        connection.executemany(f"INSERT INTO event_refs VALUES ({marks})", refs)  # noqa: S608
        connection.execute("COMMIT")
    return total / (time.perf_counter() - began), (time.process_time() - cpu) / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--profile", type=Path, default=None,
        help="record the server with py-spy (--gil) during each run's new events",
    )  # fmt: skip
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="arbiter-bench-"))
    port = free_port()
    env = dict(os.environ, ARBITER_DATA_DIR=str(data_dir), ARBITER_ADMIN_TOKEN=TOKEN,
               ARBITER_DEMO="false", ARBITER_LOG_LEVEL="warning",
               ARBITER_INCIDENT_INTERVAL_SECONDS="0", PYTHONPATH=str(args.root))  # fmt: skip
    if args.database_url:
        env["ARBITER_DATABASE_URL"] = args.database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)], cwd=args.root,
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
        print(f"root {args.root}; store: {store}; {args.events} events, batches of "
              f"{args.batch}, {args.clients} clients")  # fmt: skip
        for number in range(args.runs):
            first = number * args.events
            posts = bodies(first, args.events, args.batch)
            print(f"run {number + 1}, load average {os.getloadavg()[0]:.2f}")
            rates = {}
            for label in ("new events", "re-posted (all duplicates)"):
                spy = None
                if args.profile is not None and label == "new events":
                    mode = os.environ.get("SPY_MODE", "--gil").split()  # "--idle": wall time
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).with_name("py-spy")), "record", "--pid",
                         str(server.pid), "--format", "speedscope", "--nonblocking", "--threads",
                         *mode, "--rate", "250", "--output", f"{args.profile}-{number + 1}.json"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                cpu = cpu_seconds(server.pid)
                wall, latencies = run(f"{base}/events", posts, args.clients)
                cpu = cpu_seconds(server.pid) - cpu
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(timeout=60)
                p50 = statistics.median(latencies) * 1000
                p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
                rates[label] = rate = args.events / wall
                print(
                    f"  {label:28s} {rate:10,.0f} events/s   batch p50 {p50:5.0f} ms   "
                    f"p95 {p95:5.0f} ms   max {max(latencies) * 1000:5.0f} ms   "
                    f"server CPU {cpu / args.events * 1e6:4.1f} µs/event"
                )
            raw, raw_cpu = raw_sqlite(data_dir / f"raw{number}.db", first, args.events, args.batch)
            ratio = rates["new events"] / raw
            print(
                f"  {'raw SQLite executemany':28s} {raw:10,.0f} events/s   "
                f"API / raw: {ratio:.2f}   CPU {raw_cpu * 1e6:.1f} µs/event"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
