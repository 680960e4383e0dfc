"""Vendor contracts and running costs in the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app.contracts.models import Contract, ContractIn, Costs, CostsIn, cents
from app.contracts.tables import running_costs, vendor_contracts
from app.db.driver import savepoint
from app.db.rows import delete_workspace_row, workspace_row
from app.exceptions import Invalid, NotFound


def _check(problems: list[tuple[tuple[str, ...], str]]) -> None:
    if problems:
        raise Invalid(
            [{"loc": ["body", *loc], "msg": msg, "type": "value_error"} for loc, msg in problems]
        )


def _upsert(
    connection: Connection, table: Table, key: dict[str, str], values: dict[str, Any]
) -> bool:
    """Replace the row with ``key``, or insert it; True when inserted. A concurrent insert of
    the same key turns into the replace both writers asked for."""
    where: list[ColumnElement[bool]] = [table.c[name] == value for name, value in key.items()]
    if connection.execute(update(table).where(*where).values(**values)).rowcount:
        return False
    try:
        with savepoint(connection):
            connection.execute(insert(table).values(**key, **values))
    except IntegrityError:
        connection.execute(update(table).where(*where).values(**values))
        return False
    return True


def _put_terms(
    connection: Connection, table: Table, key: dict[str, str], terms: ContractIn | CostsIn
) -> tuple[str, datetime, bool]:
    """Check ``terms`` and store them as the JSON body of ``table``'s row with ``key``: the
    body, when, and True when the row was created."""
    _check(terms.problems())
    body = terms.model_dump_json()
    now = datetime.now(UTC)
    return body, now, _upsert(connection, table, key, {"body": body, "updated_at": now})


def _contract(vendor: str, body: str, updated_at: datetime) -> Contract:
    return Contract.model_validate(
        {**json.loads(body), "vendor": vendor, "updated_at": updated_at.isoformat()}
    )


def put_contract(
    connection: Connection, workspace_id: str, vendor: str, terms: ContractIn
) -> tuple[Contract, bool]:
    """Create or replace the vendor's contract; True when it was created."""
    key = {"workspace_id": workspace_id, "vendor": vendor}
    body, now, created = _put_terms(connection, vendor_contracts, key, terms)
    return _contract(vendor, body, now), created


def list_contracts(connection: Connection, workspace_id: str) -> list[Contract]:
    rows = connection.execute(
        select(vendor_contracts)
        .where(vendor_contracts.c.workspace_id == workspace_id)
        .order_by(vendor_contracts.c.vendor)
    )
    return [_contract(row.vendor, row.body, row.updated_at) for row in rows]


def get_contract(connection: Connection, workspace_id: str, vendor: str) -> Contract:
    row = workspace_row(
        connection, vendor_contracts.c.vendor, workspace_id, vendor, _missing(workspace_id, vendor)
    )
    return _contract(row.vendor, row.body, row.updated_at)


def delete_contract(connection: Connection, workspace_id: str, vendor: str) -> None:
    missing = _missing(workspace_id, vendor)
    delete_workspace_row(connection, vendor_contracts.c.vendor, workspace_id, vendor, missing)


def _missing(workspace_id: str, vendor: str) -> str:
    return f"no contract with vendor '{vendor}' in workspace '{workspace_id}'"


def _costs(body: str, updated_at: datetime) -> Costs:
    terms = CostsIn.model_validate_json(body)
    return Costs(
        **terms.model_dump(),
        per_hour_total=cents(terms.per_hour),
        updated_at=updated_at.isoformat(),
    )


def put_costs(connection: Connection, workspace_id: str, terms: CostsIn) -> tuple[Costs, bool]:
    """Create or replace the workspace's running costs; True when they were created."""
    key = {"workspace_id": workspace_id}
    body, now, created = _put_terms(connection, running_costs, key, terms)
    return _costs(body, now), created


def find_costs(connection: Connection, workspace_id: str) -> Costs | None:
    row = connection.execute(
        select(running_costs).where(running_costs.c.workspace_id == workspace_id)
    ).first()
    return None if row is None else _costs(row.body, row.updated_at)


def get_costs(connection: Connection, workspace_id: str) -> Costs:
    found = find_costs(connection, workspace_id)
    if found is None:
        raise NotFound(f"workspace '{workspace_id}' has no running costs yet: PUT them first")
    return found


def delete_costs(connection: Connection, workspace_id: str) -> None:
    gone = connection.execute(
        delete(running_costs).where(running_costs.c.workspace_id == workspace_id)
    ).rowcount
    if not gone:
        raise NotFound(f"workspace '{workspace_id}' has no running costs")
