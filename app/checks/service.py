"""Checks stored per workspace, and each result stored as Arbiter's ``call`` to the system.

A result is an ordinary event (``arbiter`` → the check's target), validated by the events API's
own :func:`app.events.service.admit` and stored by :func:`app.events.service.store_events` in
the same transaction as the check's new status: the engine reads it as it reads connectors'
probes (evidence that the system is ``down``/``unavailable``), nothing new needed there.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from app.checks.models import Check, CheckIn, Result
from app.checks.tables import storefront_checks
from app.db.rows import delete_workspace_row, workspace_row
from app.events.service import admit, store_events
from app.exceptions import Invalid
from graph.model import ARBITER_SYSTEM, Event, Outcome, Topology

RECENT_RUNS = 20
"""Passing durations kept to judge a page's usual time."""
MIN_RUNS_FOR_USUAL = 5
SLOW_MIN_EXTRA_MS = 300.0
"""A run is slow only when it also took this much longer than usual: a page that usually answers
in 20 ms and once in 70 ms is not slow for anyone, and a busy probing host must not say so."""


def problems(check: CheckIn, topology: Topology | None) -> list[tuple[str, str]]:
    """(field, reason) for each thing wrong with ``check`` that its schema cannot see."""
    found: list[tuple[str, str]] = []
    if topology is None:
        found.append(("target", "the workspace has no topology yet: PUT it before checks"))
    elif topology.system(check.target) is None:
        found.append(("target", f"'{check.target}' is not a system of the topology"))
    if check.kind == "http":
        if check.url is None:
            found.append(("url", "an http check needs the page's url"))
        elif not check.url.lower().startswith(("http://", "https://")):
            found.append(("url", "must be an http:// or https:// address"))
        if check.host is not None or check.port is not None:
            found.append(("host", "an http check takes its host and port from its url"))
    else:
        if check.host is None:
            found.append(("host", f"a {check.kind} check needs the host name"))
        for name in ("url", "expect_text", "slow_factor"):
            if getattr(check, name) is not None:
                found.append((name, "only an http check takes it"))
        if check.kind == "dns" and check.port is not None:
            found.append(("port", "a dns check resolves a name, it has no port"))
    return found


def validate(check: CheckIn, topology: Topology | None) -> None:
    found = problems(check, topology)
    if found:
        raise Invalid([{"loc": ["body", f], "msg": m, "type": "value_error"} for f, m in found])


def _row_check(row: Any) -> Check:
    status = json.loads(row.status) if row.status else {}
    return Check(
        **json.loads(row.body),
        id=row.check_id,
        updated_at=row.updated_at,
        last=status.get("last"),
        usual_ms=status.get("usual_ms"),
        slow=bool(status.get("slow")),
        days_left=status.get("days_left"),
    )


def list_checks(connection: Connection, workspace_id: str) -> list[Check]:
    rows = connection.execute(
        select(storefront_checks)
        .where(storefront_checks.c.workspace_id == workspace_id)
        .order_by(storefront_checks.c.check_id)
    ).all()
    return [_row_check(row) for row in rows]


def get_check(connection: Connection, workspace_id: str, check_id: str) -> Check:
    return _row_check(_row(connection, workspace_id, check_id))


def _row(connection: Connection, workspace_id: str, check_id: str) -> Any:
    missing = f"check '{check_id}' does not exist"
    return workspace_row(connection, storefront_checks.c.check_id, workspace_id, check_id, missing)


def put_check(
    connection: Connection, workspace_id: str, check_id: str, body: CheckIn
) -> tuple[Check, bool]:
    """Create or replace the check; a changed definition starts its history afresh."""
    where = (
        storefront_checks.c.workspace_id == workspace_id,
        storefront_checks.c.check_id == check_id,
    )
    stored = connection.execute(select(storefront_checks.c.body).where(*where)).one_or_none()
    values = {"body": json.dumps(body.model_dump(mode="json")), "updated_at": datetime.now(UTC)}
    if stored is None:
        connection.execute(
            storefront_checks.insert().values(
                workspace_id=workspace_id, check_id=check_id, **values
            )
        )
    elif json.loads(stored.body) != body.model_dump(mode="json"):
        connection.execute(storefront_checks.update().where(*where).values(status=None, **values))
    return get_check(connection, workspace_id, check_id), stored is None


def delete_check(connection: Connection, workspace_id: str, check_id: str) -> None:
    missing = f"check '{check_id}' does not exist"
    key = storefront_checks.c.check_id
    delete_workspace_row(connection, key, workspace_id, check_id, missing)


@dataclass(frozen=True)
class Due:
    """An enabled check, as the scheduler reads it."""

    workspace_id: str
    check_id: str
    check: CheckIn
    status: dict[str, Any]


def _due(row: Any) -> Due:
    return Due(
        row.workspace_id,
        row.check_id,
        CheckIn.model_validate_json(row.body),
        json.loads(row.status) if row.status else {},
    )


def all_enabled(connection: Connection) -> list[Due]:
    found = [_due(row) for row in connection.execute(select(storefront_checks)).all()]
    return [due for due in found if due.check.enabled]


def get_due(connection: Connection, workspace_id: str, check_id: str) -> Due:
    return _due(_row(connection, workspace_id, check_id))


def check_flow(topology: Topology, target: str) -> str:
    """The flow the check's events go on: the order flow the target takes part in when there
    is one (customers' orders are what a dark shop stops), else any flow of the target, else
    the first flow. Arbiter's probes count for the system on every flow alike."""
    mine = [link.flow for link in topology.links if target in (link.caller, link.callee)] or list(
        topology.flows
    )
    return next((flow for flow in mine if "order" in flow.lower()), mine[0])


def result_event(check_id: str, check: CheckIn, result: Result, flow: str) -> Event:
    """The run as Arbiter's ``call`` to the check's target (no refs: it is about the system,
    not an entity)."""
    stamp = result.at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return Event(
        id=f"check:{check_id}:{stamp}",
        time=result.at,
        flow=flow,
        kind="call",
        system=ARBITER_SYSTEM,
        target=check.target,
        outcome=Outcome(
            status=result.status,
            duration_ms=result.duration_ms,
            error=result.error,
        ),
        data={"check": check_id, "check_kind": check.kind, "page": check.page, **result.details},
    )


def next_status(check: CheckIn, previous: dict[str, Any], result: Result) -> dict[str, Any]:
    """The check's status after ``result``: the usual time from earlier passing runs (a slow
    run does not become the usual), whether this run was slow, the certificate's days left.

    >>> from datetime import UTC, datetime
    >>> c = CheckIn(kind="http", target="shop", url="http://s/", slow_factor=3)
    >>> s = {"recent_ms": [100.0] * 5}
    >>> r = Result(at=datetime(2026, 1, 1, tzinfo=UTC), ok=True, status=200, duration_ms=450)
    >>> (lambda n: (n["usual_ms"], n["slow"], len(n["recent_ms"])))(next_status(c, s, r))
    (100.0, True, 5)
    >>> r = Result(at=datetime(2026, 1, 1, tzinfo=UTC), ok=True, status=200, duration_ms=350)
    >>> next_status(c, s, r)["slow"]  # 3.5 times the usual, but only 0.25 s longer
    False
    """
    recent = [float(v) for v in previous.get("recent_ms") or []]
    usual = statistics.median(recent) if len(recent) >= MIN_RUNS_FOR_USUAL else None
    limit = check.slow_factor * usual if check.slow_factor and usual else None
    slow = bool(
        result.ok
        and limit is not None
        and usual is not None
        and result.duration_ms >= max(limit, usual + SLOW_MIN_EXTRA_MS)
    )
    if result.ok and not slow:
        recent = [*recent, result.duration_ms][-RECENT_RUNS:]
    failures = 0 if result.ok else int(previous.get("consecutive_failures", 0)) + 1
    return {
        "last": result.model_dump(mode="json"),
        "recent_ms": recent,
        "usual_ms": usual,
        "slow": slow,
        "days_left": result.details.get("days_left", previous.get("days_left")),
        "consecutive_failures": failures,
    }


def persist(
    workspace_id: str,
    check_id: str,
    event: Event,
    topology: Topology,
    status: dict[str, Any],
    connection: Connection,
) -> list[tuple[int, Event]]:
    """Store the result's event and the check's status together (a unit for the writer)."""
    usable, _dropped = admit([event], topology)
    stored = store_events(connection, workspace_id, usable).stored if usable else []
    connection.execute(
        storefront_checks.update()
        .where(
            storefront_checks.c.workspace_id == workspace_id,
            storefront_checks.c.check_id == check_id,
        )
        .values(status=json.dumps(status))
    )
    return stored
