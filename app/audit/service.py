"""Write and read the audit trail.

``record`` is called inside the transaction of the change it describes, so an entry exists
exactly when the change was stored. Details never hold secrets: keys that name one (token,
password, secret, url, key, credential, authorization) are refused outright by ``record`` so a
careless caller fails in its tests, not silently in production.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select

from app.audit.tables import audit_events

_SECRET_KEY = re.compile(r"token|password|secret|url|key|credential|authori[sz]ation", re.I)


@dataclass(frozen=True)
class AuditEvent:
    id: int
    workspace: str | None
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]


def record(
    connection: Connection,
    workspace_id: str | None,
    actor: str,
    action: str,
    target: str,
    at: datetime,
    **detail: str | int | bool | None,
) -> None:
    for key in detail:
        if _SECRET_KEY.search(key):
            raise ValueError(f"audit detail '{key}' may hold a secret; it is never recorded")
    connection.execute(
        insert(audit_events).values(
            workspace_id=workspace_id,
            at=at,
            actor=actor[:320],
            action=action,
            target=target[:500],
            detail=json.dumps(detail, sort_keys=True),
        )
    )


def search(
    connection: Connection, workspace_id: str, query: str = "", limit: int = 500
) -> list[AuditEvent]:
    """The workspace's entries, newest first; ``query`` matches actor, action or target."""
    statement = select(audit_events).where(audit_events.c.workspace_id == workspace_id)
    if query:
        # LIKE's wildcards in the query are meant literally.
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(
                audit_events.c.actor.ilike(pattern, escape="\\"),
                audit_events.c.action.ilike(pattern, escape="\\"),
                audit_events.c.target.ilike(pattern, escape="\\"),
            )
        )
    rows = connection.execute(
        statement.order_by(audit_events.c.at.desc(), audit_events.c.id.desc()).limit(limit)
    )
    return [
        AuditEvent(r.id, r.workspace_id, r.at, r.actor, r.action, r.target, json.loads(r.detail))
        for r in rows
    ]
