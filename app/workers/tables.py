"""Who does the background work of which workspace, on PostgreSQL with several workers.

``workers`` lists the live worker processes (each renews its row); ``worker_leases`` holds one
row per workspace (and one for the store-wide work) naming the worker that holds it until
``expires_at``. Both are timed by the database's clock only, so workers' clocks never matter.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Table

from app.db.tables import integer, metadata, moment, string, text, workspace_column

workers = Table(
    "workers",
    metadata,
    string("id", 64, primary_key=True),
    string("host", 255),
    integer("pid"),
    string("role", 16),
    moment("started_at"),
    moment("expires_at"),
)

worker_leases = Table(
    "worker_leases",
    metadata,
    string("key", 80, primary_key=True),
    string("holder", 64, nullable=True),
    # Raised by each new acquisition: a fencing token that outlives the holder's process.
    Column("epoch", BigInteger(), nullable=False, server_default="0"),
    moment("acquired_at", nullable=True),
    moment("expires_at", nullable=True),
    Index("ix_worker_leases_holder", "holder"),
)

connector_reports = Table(
    "connector_reports",
    metadata,
    workspace_column(primary_key=True),
    string("system", 64, primary_key=True),
    text("status"),
    moment("reported_at"),
)
"""What pollers and checks last reported of each system (``runtime.connector_statuses``), for
the processes that do not run them: on PostgreSQL the warnings are answered by any API process."""
