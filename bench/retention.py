"""Retention: how long expiring old events takes, SQLite's batched deletes against
PostgreSQL's dropped week partitions.

    .venv/bin/python bench/retention.py [--old 400000] [--url postgresql+psycopg://...]

Stores ``--old`` events 100 days old (two refs each, over two days) and a tenth as many from
now in a fresh store, then times ``app.db.retention.expire`` with 90 days kept. Without
``--url`` the store is a SQLite file in a temporary directory; a PostgreSQL URL must name an
empty database (the schema is migrated into it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import insert

from app.db import partitions, retention
from app.db.engine import make_engine, make_writer_engine, migrate
from app.db.tables import workspaces
from app.db.writer import Writer
from app.events.service import store_events
from graph.model import Event

BATCH = 1000


def batch(number: int, end: datetime) -> list[Event]:
    return [
        Event.model_validate(
            {
                "id": f"e-{number}-{i}", "time": (end - timedelta(seconds=i)).isoformat(),
                "flow": "order", "kind": "seen", "system": "shop", "state": "processing",
                "refs": {"shop": f"{number}-{i}", "oms": f"BL-{number}-{i}"},
                "data": {"total": "199.00", "currency": "PLN", "lines": 2},
            }
        )
        for i in range(BATCH)
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=int, default=400_000, help="events to expire")
    parser.add_argument("--url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args()
    url = args.url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'retention.db'}"
    engine = make_engine(url)
    migrate(engine)
    writer = Writer(make_writer_engine(url))
    if engine.dialect.name == "postgresql":
        writer.run(lambda c: partitions.maintain(c, keep_days=120))
    with engine.begin() as connection:
        connection.execute(
            insert(workspaces).values(id="acme", name="ACME", created_at=datetime.now(UTC))
        )
    old = datetime.now(UTC) - timedelta(days=100)
    old_batches = args.old // BATCH
    for number in range(old_batches + old_batches // 10):
        end = old - timedelta(hours=number % 48) if number < old_batches else datetime.now(UTC)
        writer.run(partial(store_events, workspace_id="acme", batch=batch(number, end)))
    started = time.perf_counter()
    done = retention.expire(engine, writer, days=90)
    took = time.perf_counter() - started
    writer.close()
    engine.dispose()
    loadavg = Path("/proc/loadavg")
    load = " ".join(loadavg.read_text().split()[:3]) if loadavg.exists() else "?"
    print(
        f"{engine.dialect.name}: {done.events:,} events expired in {took:.2f} s "
        f"({done.events / took:,.0f} events/s); load average {load}"
    )


if __name__ == "__main__":
    main()
