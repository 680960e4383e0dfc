"""The agency overview: the workspaces one sign-in sees, the one with most wrong now first.

Ranked by open incidents (their count, then the entities they hold up), then critical warnings,
then all warnings, then name: the shop that needs someone first is at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from app.exceptions import NoTopology
from app.incidents.tables import incidents
from app.runtime import Runtime
from app.warnings.service import warnings_for
from app.workspaces.service import Workspace, list_workspaces


@dataclass(frozen=True)
class ShopState:
    workspace: Workspace
    role: str
    open_incidents: int
    affected: int
    critical: int
    warnings: int

    @property
    def rank(self) -> tuple[int, int, int, int, str]:
        return (
            -self.open_incidents,
            -self.affected,
            -self.critical,
            -self.warnings,
            self.workspace.name,
        )


def overview(
    runtime: Runtime, visible: tuple[str, ...] | None, roles: dict[str, str]
) -> list[ShopState]:
    """The visible workspaces (None: all of them, the admin's view), ranked."""
    now = datetime.now(UTC)
    with runtime.engine.connect() as connection:
        found = [w for w in list_workspaces(connection) if visible is None or w.id in visible]
        counts = {
            row.workspace_id: (row.open, row.affected or 0)
            for row in connection.execute(
                select(
                    incidents.c.workspace_id,
                    func.count().label("open"),
                    func.sum(incidents.c.affected).label("affected"),
                )
                .where(incidents.c.status == "open")
                .group_by(incidents.c.workspace_id)
            )
        }
    states = []
    for workspace in found:
        try:
            listed = warnings_for(runtime, workspace.id, now).warnings
        except NoTopology:  # no topology yet: nothing to warn about
            listed = []
        open_count, affected = counts.get(workspace.id, (0, 0))
        states.append(
            ShopState(
                workspace,
                roles.get(workspace.id, "owner"),
                open_count,
                int(affected),
                sum(1 for w in listed if w.severity == "critical"),
                len(listed),
            )
        )
    return sorted(states, key=lambda s: s.rank)
