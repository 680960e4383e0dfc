"""Vendor contracts and running costs per workspace (migration ``0015``).

Each holds its terms as one JSON document (validated by :mod:`app.contracts.models` on the way
in), like the topology: the terms grow new optional fields without a migration each time.
"""

from __future__ import annotations

from sqlalchemy import Column, String, Table, Text

from app.db.tables import UTCDateTime, metadata, workspace_column

vendor_contracts = Table(
    "vendor_contracts",
    metadata,
    workspace_column(primary_key=True),
    Column("vendor", String(200), primary_key=True),
    Column("body", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

running_costs = Table(
    "running_costs",
    metadata,
    workspace_column(primary_key=True),
    Column("body", Text(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
