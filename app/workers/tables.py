"""Who does the background work of which workspace, on PostgreSQL with several workers.

``workers`` lists the live worker processes (each renews its row); ``worker_leases`` holds one
row per workspace (and one for the store-wide work) naming the worker that holds it until
``expires_at``. Both are timed by the database's clock only, so workers' clocks never matter.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from app.db.tables import UTCDateTime, metadata, workspace_column

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer(), nullable=False),
    Column("role", String(16), nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

worker_leases = Table(
    "worker_leases",
    metadata,
    Column("key", String(80), primary_key=True),
    Column("holder", String(64), nullable=True),
    # Raised by each new acquisition: a fencing token that outlives the holder's process.
    Column("epoch", BigInteger(), nullable=False, server_default="0"),
    Column("acquired_at", UTCDateTime(), nullable=True),
    Column("expires_at", UTCDateTime(), nullable=True),
    Index("ix_worker_leases_holder", "holder"),
)

connector_reports = Table(
    "connector_reports",
    metadata,
    workspace_column(primary_key=True),
    Column("system", String(64), primary_key=True),
    Column("status", Text(), nullable=False),
    Column("reported_at", UTCDateTime(), nullable=False),
)
"""What pollers and checks last reported of each system (``runtime.connector_statuses``), for
the processes that do not run them: on PostgreSQL the warnings are answered by any API process."""
