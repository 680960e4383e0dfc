"""Memory and restart time of a real `arbiter serve` after 1 day and after 30 days of history.

    .venv/bin/python -m bench.lifetime [--orders-per-day 5000] [--days 1,30]

For each length of history: a throwaway SQLite store gets a workspace with the CONTRACT.md
topology and that many days of the realistic shop traffic of bench/diagnosis.py (orders pulled
by the OMS and pushed to the ERP, stock propagating ERP → OMS → shop, the OMS's polls and
Arbiter's probes, an ERP outage), shifted to end now and written straight into the store (as
the service writes it, not over HTTP: the point is what a restart does with it). Then
`arbiter serve` starts on it, and the script prints the seconds from the start of the process
to the first answered diagnosis of the workspace, and the server's resident memory then and at
its peak (VmRSS, VmHWM). Before each server stops, a few new orders arrive through the events
API, as in a running service, so the snapshot it writes holds events newer than the store had.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Dialect

import bench.diagnosis as traffic
from app.db.engine import make_engine
from app.db.tables import events
from app.events.service import event_rows
from bench.ingest import TOKEN, free_port
from graph.model import Event

HEADERS = {"Authorization": f"Bearer {TOKEN}"}


ROOT = Path(__file__).resolve().parents[1]


def serve(data_dir: Path, root: Path = ROOT) -> tuple[subprocess.Popen[bytes], str]:
    """`arbiter serve` of the checkout at ``root`` (an older commit's, to compare)."""
    port = free_port()
    env = dict(os.environ, ARBITER_DATA_DIR=str(data_dir), ARBITER_ADMIN_TOKEN=TOKEN,
               ARBITER_DEMO="false", ARBITER_LOG_LEVEL="warning",
               ARBITER_INCIDENT_INTERVAL_SECONDS="0", PYTHONPATH=str(root))  # fmt: skip
    # Compiled once, as in the image (pip install compiles it), not at every start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
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


def fill(data_dir: Path, days: float, orders_per_day: int) -> int:
    """Create the workspace through the API, then write ``days`` of history into the store.

    The newest day is bench/diagnosis.py's traffic (its ERP outage 5 h before the end, its SKUs
    that go stale); each older day is a copy of one quiet day of the same traffic (no outage),
    moved back by whole days, its event ids and order numbers made its own. The rows are those
    the service's insert writes (``event_rows``, checked on a sample of every day), inserted
    with the driver's ``executemany``, a day per transaction: 8.4 M events (30 days at 50,000
    orders a day) take minutes instead of most of an hour through ``store_events``.
    """
    create_workspace(data_dir)
    traffic.ORDERS_PER_DAY = orders_per_day
    per_day = int(orders_per_day * traffic.EVENTS_PER_ORDER)
    newest, end = traffic.workspace(per_day)
    orders = int(per_day / traffic.EVENTS_PER_ORDER)
    spacing = 86400 / orders_per_day
    start = end - timedelta(seconds=orders * spacing + 1200)  # as traffic.workspace has it
    no_outage = (math.inf, math.inf)
    quiet = traffic._events(per_day, orders, spacing, start, no_outage, seed=8)
    shift = datetime.now(UTC) - end
    # A part of a day (bench/responsiveness.py asks for N events) is the newest part of it.
    oldest = (
        datetime.now(UTC) - timedelta(days=days) if days % 1 else datetime.min.replace(tzinfo=UTC)
    )
    engine = make_engine(f"sqlite:///{data_dir / 'arbiter.db'}")
    dialect = engine.dialect
    engine.dispose()
    templates = (_template(newest), _template(quiet))
    connection = sqlite3.connect(data_dir / "arbiter.db")
    connection.execute("PRAGMA synchronous=OFF")  # a throwaway store: written once, then read
    seq = connection.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    stored = 0
    for back in range(math.ceil(days) - 1, -1, -1):
        rows, refs = _day(
            dialect, templates[0 if back == 0 else 1], back, shift - timedelta(days=back),
            offset=back * orders_per_day, since=oldest, seq=seq,
        )  # fmt: skip
        _check(dialect, rows, refs)
        with connection:
            connection.executemany(_INSERT, rows)
            connection.executemany("INSERT INTO event_refs VALUES (?, ?, ?, ?, ?)", refs)
        seq += len(rows)
        stored += len(rows)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return stored


def create_workspace(data_dir: Path) -> None:
    process, base = serve(data_dir)
    try:
        ready = time.monotonic() + 60
        while time.monotonic() < ready:
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


Template = list[tuple[dict[str, Any], datetime]]


def _template(stream: Iterable[Event]) -> Template:
    return [(event.to_json(), event.time) for event in stream]


_INSERT = (
    "INSERT INTO events (seq, workspace_id, event_id, time, flow, kind, system, target, body,"
    " received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_NUMBER = re.compile(r"\d+")


def _day(
    dialect: Dialect,
    template: Template,
    back: int,
    shift: timedelta,
    *,
    offset: int,
    since: datetime,
    seq: int,
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The rows of one day of ``template``, ``shift`` later: its events' ids and order numbers
    (not SKUs: the same products every day) made the day's own when ``back`` days old."""
    as_time = events.c.time.type.dialect_impl(dialect).bind_processor(dialect)
    assert as_time is not None
    received = as_time(datetime.now(UTC))
    suffix = f"-d{back}" if back else ""

    def renumbered(value: str) -> str:
        return _NUMBER.sub(lambda m: str(int(m.group()) + offset), value, count=1)

    rows: list[tuple[Any, ...]] = []
    refs: list[tuple[Any, ...]] = []
    for body, moment in template:
        at = moment + shift
        if at < since:
            continue
        seq += 1
        text = as_time(at)
        copy = dict(body, id=body["id"] + suffix, time=at.isoformat().replace("+00:00", "Z"))
        if offset and "refs" in body:
            copy["refs"] = {
                ns: value if ns == "sku" else renumbered(value)
                for ns, value in body["refs"].items()
            }
        rows.append(
            (seq, "bench", copy["id"], text, body["flow"], body["kind"], body["system"],
             body.get("target"), json.dumps(copy, separators=(",", ":")), received)
        )  # fmt: skip
        refs += [(seq, ns, "bench", value, text) for ns, value in copy.get("refs", {}).items()]
    return rows, refs


def _check(dialect: Dialect, rows: list[tuple[Any, ...]], refs: list[tuple[Any, ...]]) -> None:
    """A sample of the day's rows is what the service's own ``event_rows`` makes of them."""
    by_seq: dict[int, list[tuple[Any, ...]]] = {}
    for ref in refs:
        by_seq.setdefault(ref[0], []).append(ref)
    for row in rows[:: max(1, len(rows) // 500)]:
        event = Event.model_validate_json(row[8])
        made = event_rows(dialect, "bench", [event])
        own = made.rows[0]
        assert own[:8] == row[1:9], (own, row)
        expected = [(row[0], ns, "bench", value, made.times[event.id])
                    for ns, value in event.refs.items()]  # fmt: skip
        assert expected == by_seq.get(row[0], []), (expected, by_seq.get(row[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders-per-day", type=int, default=5000)
    parser.add_argument("--days", default="1,30")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server restarts")
    parser.add_argument(
        "--stores", type=Path, default=None,
        help="keep each store here (<orders>x<days>/) and restart on it again next time",
    )  # fmt: skip
    parser.add_argument(
        "--restarts", type=int, default=2,
        help="starts per store: the first rebuilds the index from the store, the next load "
        "the snapshot the one before wrote at its shutdown",
    )  # fmt: skip
    parser.add_argument(
        "--watch", type=float, default=12.0,
        help="seconds after the first diagnosis during which diagnoses and /healthz are asked "
        "back to back, their slowest answers printed (a start from the store writes its "
        "snapshot meanwhile)",
    )  # fmt: skip
    args = parser.parse_args()
    print(f"{args.orders_per_day} orders a day; load average {os.getloadavg()[0]:.2f}")
    print(f"{'days':>4} {'events':>10} {'fill s':>7} {'index from':>10} "
          f"{'restart→diagnosis s':>20} {'RSS MB':>7} {'peak MB':>8} {'stop s':>7} "
          f"{'slowest diagnosis, healthz ms':>30}")  # fmt: skip
    for days in (int(d) for d in args.days.split(",")):
        if args.stores is None:
            data_dir = Path(tempfile.mkdtemp(prefix="arbiter-lifetime-"))
        else:
            data_dir = args.stores / f"{args.orders_per_day}x{days}"
        began = time.perf_counter()
        if (data_dir / "arbiter.db").exists():
            with sqlite3.connect(data_dir / "arbiter.db") as connection:
                events = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            events = fill(data_dir, days, args.orders_per_day)
        filled = time.perf_counter() - began
        snapshot = data_dir / "index" / "bench.index"
        snapshot.unlink(missing_ok=True)
        for _ in range(args.restarts):
            source = "snapshot" if snapshot.exists() else "store"
            restart, rss, peak, stop, slowest = restarted(data_dir, args.root, args.watch)
            print(
                f"{days:>4} {events:>10,} {filled:>7.0f} {source:>10} {restart:>20.1f} "
                f"{rss:>7.0f} {peak:>8.0f} {stop:>7.1f} "
                f"{slowest['diagnosis']:>20.0f}, {slowest['healthz']:>7.0f}"
                f"  (load {os.getloadavg()[0]:.2f})",
                flush=True,
            )


def restarted(
    data_dir: Path, root: Path, watch: float
) -> tuple[float, float, float, float, dict[str, float]]:
    """Seconds from a server's start on ``data_dir`` to its first diagnosis; its RSS and peak
    then; the seconds it took to stop (it writes the index's snapshot); the slowest answers
    while watched (:func:`slowest_answers`)."""
    started = time.perf_counter()
    process, base = serve(data_dir, root)
    try:
        first_diagnosis(base)
        restart = time.perf_counter() - started
        rss, peak = memory_mb(process.pid)
        slowest = slowest_answers(base, watch)
        arrive(base)
    finally:
        stopping = time.perf_counter()
        process.terminate()
        process.wait(timeout=600)
    return restart, rss, peak, time.perf_counter() - stopping, slowest


def arrive(base: str, count: int = 20) -> None:
    """New orders seen in the shop now, through the events API, before the server stops: a
    running service's snapshot holds events newer than the store had at its start (a snapshot
    written after such events was ignored at every restart until 2026-12-01, bench/README.md)."""
    now = datetime.now(UTC) - timedelta(seconds=1)
    events = [
        {"id": f"arrived-{now.timestamp()}-{n}", "time": now.isoformat(), "flow": "order",
         "kind": "seen", "system": "shop", "refs": {"shop": f"A{now.timestamp():.0f}-{n}"},
         "state": "processing"}
        for n in range(count)
    ]  # fmt: skip
    response = httpx.post(f"{base}/api/v1/workspaces/bench/events", json={"events": events},
                          headers=HEADERS, timeout=600)  # fmt: skip
    response.raise_for_status()
    first_diagnosis(base)  # caught up with them


def slowest_answers(base: str, seconds: float) -> dict[str, float]:
    """The slowest diagnosis and ``/healthz`` answers (ms) over ``seconds``, each asked back to
    back by a thread of its own: what users meet while the snapshot that a start from the store
    sets off after its first diagnosis is written."""
    slowest = {"diagnosis": 0.0, "healthz": 0.0}
    until = time.monotonic() + seconds

    def ask(name: str, url: str) -> None:
        with httpx.Client(headers=HEADERS, timeout=600) as client:
            while time.monotonic() < until:
                began = time.perf_counter()
                client.get(url).raise_for_status()
                slowest[name] = max(slowest[name], (time.perf_counter() - began) * 1000)

    askers = [
        threading.Thread(
            target=ask, args=("diagnosis", f"{base}/api/v1/workspaces/bench/diagnosis")
        ),
        threading.Thread(target=ask, args=("healthz", f"{base}/healthz")),
    ]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    return slowest


if __name__ == "__main__":
    main()
