"""Server-side time of each dashboard page for a workspace of N events (default 100,000).

Builds the workspace of ``bench/diagnosis.py`` (50,000 orders a day, 5,000 SKUs, an ERP outage
and stale SKUs) in a throwaway SQLite store, starts the app in-process, signs in like a browser
and requests each page through Starlette's TestClient (no network: what is timed is routing,
the session check, the diagnosis and the rendering). The first request builds the in-memory
index from the store and is reported apart; every timed request after it moves ``as_of``
forward by 5 s, as the live overview does, so no answer is a cached one.

Run: ``.venv/bin/python bench/dashboard.py [--events 100000] [--repeat 7]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.tables import event_refs
from app.events.service import store_events
from app.main import create_app
from app.settings import Settings
from app.topology.service import put_topology
from app.workspaces.service import put_workspace
from bench.diagnosis import TOPOLOGY, workspace

TOKEN = "arb_bench_admin_token"  # noqa: S105 - a throwaway store's token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="arbiter-bench-dashboard-"))
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'arbiter.db'}",
        admin_token=TOKEN,  # type: ignore[arg-type]
        demo=False,
    )
    app = create_app(settings)
    runtime = app.state.runtime
    stream, end = workspace(args.events)
    began = time.perf_counter()
    stored = 0
    with runtime.engine.begin() as connection:
        put_workspace(connection, "bench", "Bench store")
        put_topology(connection, "bench", TOPOLOGY)
        batch = []
        for event in stream:
            batch.append(event)
            if len(batch) == 10_000:
                stored += len(store_events(connection, "bench", batch).stored)
                batch = []
        if batch:
            stored += len(store_events(connection, "bench", batch).stored)
        erp_document = connection.execute(
            select(event_refs.c.value).where(event_refs.c.namespace == "erp").limit(1)
        ).scalar_one()
    print(f"stored {stored:,} events in {time.perf_counter() - began:.1f} s")

    with TestClient(app, follow_redirects=False) as client:
        form = client.get("/signin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf
        client.post("/signin", data={"token": TOKEN, "csrf": csrf.group(1)})
        moment = end

        def get(path: str, **params: str) -> tuple[float, str]:
            nonlocal moment
            moment += timedelta(seconds=5)
            query = {"as_of": moment.isoformat(), **params}
            started = time.perf_counter()
            answer = client.get(path, params=query)
            elapsed = (time.perf_counter() - started) * 1000
            assert answer.status_code in (200, 303), (path, answer.status_code)
            return elapsed, answer.text

        first, overview = get("/w/bench")
        print(f"first overview (builds the index from the store): {first:,.0f} ms")
        suspect = re.search(r'href="(/w/bench/suspects/[^"?]+)', overview)
        pages = {
            "overview": ("/w/bench", {}),
            "overview live refresh (JSON)": ("/w/bench/live", {}),
            "stock": ("/w/bench/stock", {}),
            "trace search (ERP document)": ("/w/bench/trace", {"q": erp_document}),
            "trace": ("/w/bench/trace", {"ns": "erp", "id": erp_document}),
        }
        if suspect:
            path = suspect.group(1)
            pages["suspect"] = (path, {})
            pages["suspect report (Markdown)"] = (path + "/report.md", {})
            pages["suspect chart (8 buckets, loaded after the page)"] = (path + "/chart", {})
        print(f"\n{'page':<50} {'median ms':>10} {'max ms':>8}")
        for name, (path, params) in pages.items():
            times = [get(path, **params)[0] for _ in range(args.repeat)]
            print(f"{name:<50} {statistics.median(times):>10.0f} {max(times):>8.0f}")


if __name__ == "__main__":
    main()
