"""Vendor contracts and running costs per workspace (migration ``0015``).

Each holds its terms as one JSON document (validated by :mod:`app.contracts.models` on the way
in), like the topology: the terms grow new optional fields without a migration each time.
"""

from __future__ import annotations

from sqlalchemy import Table

from app.db.tables import document_table, metadata, moment, string, text, workspace_column

vendor_contracts = Table(
    "vendor_contracts",
    metadata,
    workspace_column(primary_key=True),
    string("vendor", 200, primary_key=True),
    text("body"),
    moment("updated_at"),
)

running_costs = document_table("running_costs")
