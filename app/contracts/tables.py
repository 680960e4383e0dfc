"""Vendor contracts and running costs per workspace (migration ``0015``).

Each holds its terms as one JSON document (validated by :mod:`app.contracts.models` on the way
in), like the topology: the terms grow new optional fields without a migration each time.
"""

from __future__ import annotations

from app.db.tables import document_table, string

vendor_contracts = document_table("vendor_contracts", string("vendor", 200, primary_key=True))

running_costs = document_table("running_costs")
