"""Benchmark of the diagnosis core: ingest, cold and warm diagnosis, peak memory.

Generates a realistic workspace (the CONTRACT.md topology; ~50,000 orders a day, each pulled
from the shop by the OMS and pushed to the ERP, some retried; 5,000 SKUs whose stock changes
in the ERP and propagates; the OMS's list polls; Arbiter's probes; a one-hour ERP outage and a
few stale SKUs on the last day) of N events, feeds it to a ``WorkspaceIndex`` in batches of
10,000 and times:

- ingest: events/s through ``WorkspaceIndex.add`` (event generation not counted);
- cold diagnosis: the first ``diagnose`` (every journey judged);
- warm diagnosis: a second ``diagnose`` with an ``as_of`` 5 s later (only journeys whose
  deadlines passed are judged again), then a third 60 s later;
- trace, link health and stock drift once each, warm;
- peak memory: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` of a child process per size
  (resident set of the whole interpreter, generator included).

Run: ``.venv/bin/python bench/diagnosis.py [--sizes 10000,100000,1000000]``
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from graph.index import WorkspaceIndex
from graph.model import Event, Topology

TOPOLOGY = Topology.model_validate(
    {
        "systems": [
            {"id": "shop", "kind": "woocommerce", "vendor": "Shop agency"},
            {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"},
            {"id": "erp", "kind": "odoo", "vendor": "ERP partner"},
        ],
        "links": [
            {
                "flow": "order",
                "from": "shop",
                "to": "oms",
                "initiator": "to",
                "owner": "BaseLinker",
                "sla_seconds": 600,
            },
            {
                "flow": "order",
                "from": "oms",
                "to": "erp",
                "initiator": "from",
                "owner": "ERP partner",
                "sla_seconds": 900,
            },
            {
                "flow": "stock",
                "from": "erp",
                "to": "oms",
                "initiator": "to",
                "owner": "BaseLinker",
                "sla_seconds": 1800,
            },
            {
                "flow": "stock",
                "from": "oms",
                "to": "shop",
                "initiator": "from",
                "owner": "BaseLinker",
                "sla_seconds": 900,
            },
        ],
    }
)
ORDERS_PER_DAY = 50_000
SKUS = 5_000
EVENTS_PER_ORDER = 5.6  # measured average of the generator below, stock and polls included


def workspace(total: int, *, seed: int = 7) -> tuple[Iterator[Event], datetime]:
    """A stream of about ``total`` events in time order, and the moment it ends."""
    orders = int(total / EVENTS_PER_ORDER)
    spacing = 86400 / ORDERS_PER_DAY
    start = datetime(2026, 11, 20, tzinfo=UTC)
    end_offset = orders * spacing
    end = start + timedelta(seconds=end_offset + 1200)
    outage = (end_offset - 5 * 3600, end_offset - 4 * 3600)
    return _events(total, orders, spacing, start, outage, seed), end


def _events(
    total: int,
    orders: int,
    spacing: float,
    start: datetime,
    outage: tuple[float, float],
    seed: int,
) -> Iterator[Event]:
    rng = random.Random(seed)
    made = 0
    quantities = {f"SKU-{i:05d}": rng.randint(0, 50) for i in range(SKUS)}
    stale = {f"SKU-{i:05d}" for i in range(0, SKUS, 250)}
    next_poll = 0.0
    serial = 0

    def event(kind: str, system: str, at: float, **fields: object) -> Event:
        nonlocal serial
        serial += 1
        return Event.model_validate(
            {
                "id": f"{system}-{kind}-{serial}",
                "time": start + timedelta(seconds=at),
                "kind": kind,
                "system": system,
                **fields,
            }
        )

    def call(
        caller: str,
        at: float,
        target: str,
        flow: str,
        refs: dict[str, str] | None,
        **outcome: object,
    ) -> Event:
        """``caller``'s call to ``target`` (about the entity ``refs`` names, if any)."""
        about = {"refs": refs} if refs is not None else {}
        return event("call", caller, at, flow=flow, target=target, outcome=outcome, **about)

    for n in range(orders):
        if made >= total:
            return
        at = n * spacing
        number = str(100_000 + n)
        oms = str(7_000_000 + n)
        shop_ref = {"shop": number}
        both = {"oms": oms, "shop": number}
        data = {"total": f"{rng.randint(20, 900)}.00", "currency": "PLN", "lines": 2}
        batch = [
            event("seen", "shop", at, flow="order", refs=shop_ref, state="processing", data=data)
        ]
        in_oms = at + rng.uniform(30, 300)
        if rng.random() < 0.05:
            batch.append(
                call("oms", in_oms - 40, "shop", "order", shop_ref, status=503, duration_ms=900)
            )
        batch.append(
            call("oms", in_oms - 5, "shop", "order", shop_ref, status=200, duration_ms=180)
        )
        batch.append(event("seen", "oms", in_oms, flow="order", refs=both, state="new", data=data))
        push = in_oms + 20
        if outage[0] <= push <= outage[1]:
            for k in range(3):
                batch.append(
                    call(
                        "oms",
                        push + 60 * k,
                        "erp",
                        "order",
                        both,
                        status=503,
                        duration_ms=30000,
                        error="upstream timeout",
                    )
                )
        else:
            batch.append(call("oms", push, "erp", "order", both, status=201, duration_ms=250))
            batch.append(
                event(
                    "seen",
                    "erp",
                    push + rng.uniform(5, 120),
                    flow="order",
                    refs={"erp": f"ZK/{n}/2026", "oms": oms},
                    state="draft",
                    data=data,
                )
            )
        if rng.random() < 0.15:
            sku = f"SKU-{rng.randrange(SKUS):05d}"
            quantities[sku] = max(0, quantities[sku] - 1)
            q = quantities[sku]
            batch.append(
                event("seen", "erp", at + 400, flow="stock", refs={"sku": sku}, quantity=q)
            )
            if sku not in stale or at < outage[0]:
                batch.append(
                    event("seen", "oms", at + 700, flow="stock", refs={"sku": sku}, quantity=q)
                )
                batch.append(
                    event("seen", "shop", at + 900, flow="stock", refs={"sku": sku}, quantity=q)
                )
        if at >= next_poll:
            next_poll = at + 60
            down = outage[0] <= at <= outage[1]
            status = 503 if down else 200
            batch.append(call("oms", at, "shop", "order", None, status=200, duration_ms=300))
            batch.append(call("oms", at, "erp", "stock", None, status=status, duration_ms=400))
            if int(at) % 300 < 60:
                batch.append(
                    call("arbiter", at, "erp", "order", None, status=status, duration_ms=50)
                )
        for e in batch:
            made += 1
            yield e
            if made >= total:
                return


def run_one(size: int) -> dict[str, float | int | str]:
    stream, end = workspace(size)
    index = WorkspaceIndex()
    ingest = 0.0
    batch: list[Event] = []
    for event in stream:
        batch.append(event)
        if len(batch) == 10_000:
            began = time.perf_counter()
            index.add(batch)
            ingest += time.perf_counter() - began
            batch = []
    began = time.perf_counter()
    index.add(batch)
    ingest += time.perf_counter() - began

    def timed(as_of: datetime) -> tuple[float, int]:
        began = time.perf_counter()
        diagnosis = index.diagnose(TOPOLOGY, as_of=as_of)
        return time.perf_counter() - began, len(diagnosis.suspects)

    cold, suspects = timed(end)
    warm, _ = timed(end + timedelta(seconds=5))
    warm_minute, _ = timed(end + timedelta(seconds=65))
    began = time.perf_counter()
    index.link_health(TOPOLOGY, as_of=end + timedelta(seconds=65))
    health = time.perf_counter() - began
    began = time.perf_counter()
    drift = index.stock_drift(TOPOLOGY, as_of=end + timedelta(seconds=65))
    stock = time.perf_counter() - began
    began = time.perf_counter()
    index.trace(TOPOLOGY, "shop", "100000", as_of=end)
    trace = time.perf_counter() - began
    return {
        "events": len(index),
        "ingest_s": round(ingest, 2),
        "ingest_eps": int(len(index) / ingest),
        "cold_s": round(cold, 3),
        "warm_s": round(warm, 3),
        "warm_60s_s": round(warm_minute, 3),
        "link_health_s": round(health, 3),
        "stock_drift_s": round(stock, 3),
        "trace_s": round(trace, 4),
        "suspects": suspects,
        "drifting_skus": len(drift),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    columns = [
        "events",
        "ingest_eps",
        "cold_s",
        "warm_s",
        "warm_60s_s",
        "link_health_s",
        "stock_drift_s",
        "trace_s",
        "peak_rss_mb",
        "suspects",
    ]
    print(" | ".join(columns))
    for size in (int(s) for s in args.sizes.split(",")):
        # A child per size, so each peak RSS is that size's alone.
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(out.stdout)
        print(" | ".join(str(row[c]) for c in columns), flush=True)


if __name__ == "__main__":
    main()
