"""Connections: stored with secrets sealed, read back masked, and used by pollers and webhooks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, insert, select, update

from app.connections.crypto import SecretBox
from app.connections.models import MASK, ConnectionIn, ConnectionOut, origin
from app.connections.tables import connections
from app.db.rows import deleted
from app.db.tables import topologies
from app.exceptions import Invalid, NotFound, Problem
from app.topology.service import get_topology
from app.workspaces.service import require_workspace
from connectors.base import SECRET_FIELDS, credential_problems
from graph.model import Topology


@dataclass(frozen=True)
class Target:
    """Everything needed to poll a system or check its webhooks, secrets opened."""

    workspace_id: str
    system_id: str
    kind: str
    base_url: str | None
    credentials: dict[str, str]
    webhook_secret: str | None
    poll_interval_seconds: float
    cursor: dict[str, Any] | None
    status: dict[str, Any]
    topology: Topology

    @property
    def polls(self) -> bool:
        return self.kind in SECRET_FIELDS and self.base_url is not None

    @property
    def upstream(self) -> str | None:
        """The system before this one in the order flow: whose numbers its records carry."""
        return next(
            (
                link.from_
                for link in self.topology.links
                if link.flow == "order" and link.to == self.system_id
            ),
            None,
        )


def _kind(topology: Topology | None, workspace_id: str, system_id: str) -> tuple[Topology, str]:
    system = topology.system(system_id) if topology else None
    if topology is None or system is None:
        raise NotFound(f"system '{system_id}' is not in the topology of workspace '{workspace_id}'")
    return topology, system.kind


def put_connection(
    connection: Connection, box: SecretBox, workspace_id: str, system_id: str, body: ConnectionIn
) -> bool:
    """Create or replace; True when created. Invalid names the field and the reason."""
    require_workspace(connection, workspace_id)
    _topology, kind = _kind(get_topology(connection, workspace_id), workspace_id, system_id)
    existing = _row(connection, workspace_id, system_id)
    stored_credentials = cast(dict[str, str], box.open(existing.credentials)) if existing else {}
    problems: list[Problem] = []
    if existing is not None and origin(existing.base_url) != origin(body.base_url):
        # The stored secrets go only where they were entered for: a new destination needs them
        # typed again, or a token holder could send them to a listener of its own.
        stored_credentials = {}
        problems += [
            {
                "loc": ["body", "credentials", name],
                "msg": "base_url changes scheme, host or port: send this secret again, "
                "not the mask",
                "type": "value_error",
            }
            for name, value in body.credentials.items()
            if value == MASK
        ]
    credentials = {
        name: stored_credentials.get(name, "") if value == MASK else value
        for name, value in body.credentials.items()
    }
    if kind in SECRET_FIELDS:
        problems += [
            {"loc": ["body", "credentials"], "msg": msg, "type": "value_error"}
            for msg in credential_problems(kind, credentials)
        ]
        if body.base_url is None:
            problems.append(
                {
                    "loc": ["body", "base_url"],
                    "msg": f"a {kind} system is polled: its API URL is required",
                    "type": "missing",
                }
            )
    elif body.credentials or body.base_url:
        problems.append(
            {
                "loc": ["body", "credentials"],
                "msg": f"kind '{kind}' has no connector: it only pushes events and webhooks "
                "(set webhook_secret)",
                "type": "value_error",
            }
        )
    if problems:
        raise Invalid(problems)
    if body.webhook_secret is None:
        secret_sealed = existing.webhook_secret if existing else None
    else:
        secret = body.webhook_secret.get_secret_value()
        secret_sealed = box.seal(secret) if secret else None
    values = {
        "base_url": body.base_url,
        "credentials": box.seal(credentials),
        "webhook_secret": secret_sealed,
        "poll_interval_seconds": body.poll_interval_seconds,
        "updated_at": datetime.now(UTC),
    }
    if existing is None:
        connection.execute(
            insert(connections).values(workspace_id=workspace_id, system_id=system_id, **values)
        )
        return True
    connection.execute(
        update(connections)
        .where(connections.c.workspace_id == workspace_id, connections.c.system_id == system_id)
        .values(**values)
    )
    return False


def _row(connection: Connection, workspace_id: str, system_id: str) -> Any:
    return connection.execute(
        select(connections).where(
            connections.c.workspace_id == workspace_id, connections.c.system_id == system_id
        )
    ).first()


def load_target(
    connection: Connection, box: SecretBox, workspace_id: str, system_id: str
) -> Target:
    require_workspace(connection, workspace_id)
    topology, kind = _kind(get_topology(connection, workspace_id), workspace_id, system_id)
    row = _row(connection, workspace_id, system_id)
    if row is None:
        raise NotFound(f"system '{system_id}' has no connection: PUT one first")
    return _target(row, box, topology, kind)


def _target(row: Any, box: SecretBox, topology: Topology, kind: str) -> Target:
    secret = box.open(row.webhook_secret) if row.webhook_secret else None
    return Target(
        workspace_id=row.workspace_id,
        system_id=row.system_id,
        kind=kind,
        base_url=row.base_url,
        credentials=cast(dict[str, str], box.open(row.credentials)),
        webhook_secret=secret if isinstance(secret, str) else None,
        poll_interval_seconds=row.poll_interval_seconds,
        cursor=json.loads(row.cursor) if row.cursor else None,
        status=json.loads(row.status) if row.status else {},
        topology=topology,
    )


def all_targets(
    connection: Connection,
    box: SecretBox,
    workspace_id: str | None = None,
    system_id: str | None = None,
) -> list[Target]:
    """Every connection (of one workspace, of one system, when given) whose system is still in
    its workspace's topology."""
    targets: list[Target] = []
    topologies: dict[str, Topology | None] = {}
    query = select(connections).order_by(connections.c.workspace_id, connections.c.system_id)
    if workspace_id is not None:
        query = query.where(connections.c.workspace_id == workspace_id)
    if system_id is not None:
        query = query.where(connections.c.system_id == system_id)
    for row in connection.execute(query):
        if row.workspace_id not in topologies:
            topologies[row.workspace_id] = get_topology(connection, row.workspace_id)
        topology = topologies[row.workspace_id]
        system = topology.system(row.system_id) if topology else None
        if topology is not None and system is not None:
            targets.append(_target(row, box, topology, system.kind))
    return targets


Version = tuple[datetime, datetime | None]
"""When a connection and its workspace's topology were last changed (none: no topology)."""


def target_versions(connection: Connection) -> dict[tuple[str, str], Version]:
    """(workspace, system) → :data:`Version` of every connection: one light read, no secret
    opened, that says which targets changed since they were loaded."""
    joined = connections.outerjoin(
        topologies, topologies.c.workspace_id == connections.c.workspace_id
    )
    query = select(
        connections.c.workspace_id,
        connections.c.system_id,
        connections.c.updated_at,
        topologies.c.updated_at.label("topology_at"),
    ).select_from(joined)
    return {
        (r.workspace_id, r.system_id): (r.updated_at, r.topology_at)
        for r in connection.execute(query)
    }


def describe(target: Target) -> ConnectionOut:
    secret_fields = SECRET_FIELDS.get(target.kind, frozenset())
    return ConnectionOut(
        system=target.system_id,
        kind=target.kind,
        base_url=target.base_url,
        credentials={k: MASK if k in secret_fields else v for k, v in target.credentials.items()},
        webhook_secret_set=target.webhook_secret is not None,
        webhook_url=f"/webhooks/{target.workspace_id}/{target.system_id}",
        poll_interval_seconds=target.poll_interval_seconds,
        polling=target.polls,
        status=target.status,
    )


def list_status(connection: Connection, box: SecretBox, workspace_id: str) -> list[ConnectionOut]:
    """Every connection of the workspace, masked, with its pollers' health."""
    return [describe(t) for t in all_targets(connection, box, workspace_id)]


def delete_connection(connection: Connection, workspace_id: str, system_id: str) -> bool:
    return deleted(connection, connections.c.system_id, workspace_id, system_id)


def save_poll(
    connection: Connection,
    workspace_id: str,
    system_id: str,
    *,
    cursor: dict[str, Any] | None,
    status: dict[str, Any],
) -> None:
    """Persist a poll's outcome; called in the transaction that stores its events, so a restart
    resumes from exactly what was stored."""
    values: dict[str, Any] = {"status": json.dumps(status, default=str)}
    if cursor is not None:
        values["cursor"] = json.dumps(cursor, default=str)
    connection.execute(
        update(connections)
        .where(connections.c.workspace_id == workspace_id, connections.c.system_id == system_id)
        .values(**values)
    )
