"""Planned maintenance windows: stored per system, and the three questions others ask of them.

- :func:`suspect_filter` (incident evaluator): is this suspect the planned maintenance itself?
  Then no incident opens for it.
- :func:`outside_maintenance` (SLA reports): an incident's open span without the time its
  systems were in planned maintenance, so that time never counts as downtime.
- :func:`announced` (status page): the windows to announce, with whether the shop itself is
  the system under maintenance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from app.db.rows import delete_workspace_row
from app.exceptions import Invalid, Problem
from app.maintenance.models import Window, WindowIn
from app.maintenance.tables import maintenance_windows
from app.mapping import mapped
from graph.model import Topology
from graph.results import Suspect

MAX_WINDOW = timedelta(days=7)
AFTER_GRACE = timedelta(minutes=15)
"""After a window ends, what piled up during it may take a while to drain: a suspect that began
inside the window is still the maintenance for this long after it."""
ANNOUNCE_AHEAD = timedelta(days=30)


def validate(body: WindowIn, topology: Topology | None) -> None:
    problems: list[Problem] = []
    if topology is None or topology.system(body.system) is None:
        problems.append(
            {"loc": ["body", "system"], "msg": f"'{body.system}' is not a system of the topology",
             "type": "value_error"}
        )  # fmt: skip
    if body.ends_at <= body.starts_at:
        problems.append(
            {"loc": ["body", "ends_at"], "msg": "must be after starts_at", "type": "value_error"}
        )
    elif body.ends_at - body.starts_at > MAX_WINDOW:
        problems.append(
            {"loc": ["body", "ends_at"], "msg": "a window lasts at most 7 days",
             "type": "value_error"}
        )  # fmt: skip
    if problems:
        raise Invalid(problems)


def _window(row: Any) -> Window:
    return mapped(Window, row, system=row.system_id)


def create(connection: Connection, workspace_id: str, body: WindowIn) -> Window:
    now = datetime.now(UTC)
    new_id = connection.execute(
        maintenance_windows.insert()
        .values(
            workspace_id=workspace_id,
            system_id=body.system,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            reason=body.reason,
            created_at=now,
        )
        .returning(maintenance_windows.c.id)
    ).scalar_one()
    return Window(id=new_id, created_at=now, **body.model_dump())


def windows_between(
    connection: Connection, workspace_id: str, since: datetime, until: datetime
) -> list[Window]:
    """The windows that overlap ``[since, until)``, earliest first."""
    rows = connection.execute(
        select(maintenance_windows)
        .where(
            maintenance_windows.c.workspace_id == workspace_id,
            maintenance_windows.c.ends_at > since,
            maintenance_windows.c.starts_at < until,
        )
        .order_by(maintenance_windows.c.starts_at, maintenance_windows.c.id)
    ).all()
    return [_window(row) for row in rows]


def delete_window(connection: Connection, workspace_id: str, window_id: int) -> None:
    missing = f"maintenance window {window_id} does not exist"
    delete_workspace_row(connection, maintenance_windows.c.id, workspace_id, window_id, missing)


def _systems_of(suspect: Suspect) -> set[str]:
    links = [suspect.link] if suspect.link is not None else list(suspect.links)
    found = {s for link in links for s in (link.from_, link.to)}
    return found | ({suspect.system} if suspect.system is not None else set())


def is_planned(suspect: Suspect, windows: Iterable[Window], as_of: datetime) -> bool:
    """Whether the suspect is a window's maintenance: one of its systems is in a window now,
    or the failure began in one that ended less than :data:`AFTER_GRACE` ago."""
    systems = _systems_of(suspect)
    for window in windows:
        if window.system not in systems:
            continue
        if window.starts_at <= as_of < window.ends_at:
            return True
        began_inside = window.starts_at <= suspect.first_seen <= window.ends_at
        if began_inside and as_of < window.ends_at + AFTER_GRACE:
            return True
    return False


def suspect_filter(
    connection: Connection, workspace_id: str, as_of: datetime
) -> Callable[[Suspect], bool]:
    """A test of each suspect: True for one the planned maintenance explains."""
    windows = windows_between(connection, workspace_id, as_of - MAX_WINDOW - AFTER_GRACE, as_of)
    return lambda suspect: is_planned(suspect, windows, as_of)


def outside_maintenance(
    start: datetime, stop: datetime, systems: Iterable[str], windows: Sequence[Window]
) -> list[tuple[datetime, datetime]]:
    """The parts of ``[start, stop)`` when none of ``systems`` was in planned maintenance: what
    of an incident's open span counts as downtime in an SLA report.

    >>> from datetime import UTC, datetime
    >>> t = lambda h: datetime(2026, 11, 1, h, tzinfo=UTC)
    >>> w = Window(id=1, system="erp", starts_at=t(2), ends_at=t(4), created_at=t(0))
    >>> [(a.hour, b.hour) for a, b in outside_maintenance(t(1), t(6), ["oms", "erp"], [w])]
    [(1, 2), (4, 6)]
    """
    mine = set(systems)
    spans = [(start, stop)]
    for window in windows:
        if window.system not in mine:
            continue
        cut: list[tuple[datetime, datetime]] = []
        for a, b in spans:
            if window.ends_at <= a or window.starts_at >= b:
                cut.append((a, b))
                continue
            if a < window.starts_at:
                cut.append((a, window.starts_at))
            if window.ends_at < b:
                cut.append((window.ends_at, b))
        spans = cut
    return spans


@dataclass(frozen=True)
class Announced:
    starts_at: datetime
    ends_at: datetime
    storefront: bool


def announced(
    connection: Connection, workspace_id: str, now: datetime, storefront: set[str]
) -> list[Announced]:
    """The windows in force or starting within :data:`ANNOUNCE_AHEAD`, for the status page."""
    return [
        Announced(w.starts_at, w.ends_at, w.system in storefront)
        for w in windows_between(connection, workspace_id, now, now + ANNOUNCE_AHEAD)
    ]
