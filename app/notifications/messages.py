"""The words of an alert: what failed where, how, who answers for it, and where to look."""

from __future__ import annotations

from app.incidents.lifecycle import Alert
from app.incidents.models import incident_url
from app.notifications.sender import NotifyKind
from app.settings import Settings

_KIND: dict[str, NotifyKind] = {"open": "failure", "escalate": "warning", "resolve": "success"}


def alert_message(
    alert: Alert, workspace_id: str, settings: Settings
) -> tuple[str, str, NotifyKind]:
    """(title, body, apprise notify type) of ``alert``."""
    incident = alert.incident
    assert incident.id is not None
    if alert.event == "open":
        verb = "reopened (flapping)" if alert.reopened else "opened"
    elif alert.event == "escalate":
        verb = f"escalated to {incident.affected} affected"
    else:
        verb = "resolved"
    title = (
        f"[Arbiter {workspace_id}] Incident #{incident.id} {verb}: "
        f"{incident.where} {incident.mode} ({incident.responsible})"
    )
    lines = [
        incident.summary,
        "",
        f"Link: {incident.where}",
        f"Mode: {incident.mode}",
        f"Responsible: {incident.responsible}",
        f"Affected: {incident.affected} (healthy: {incident.healthy})",
        f"First failure: {incident.first_failure:%Y-%m-%d %H:%M} UTC",
    ]
    if alert.event == "resolve" and incident.resolved_at is not None:
        lasted = incident.resolved_at - incident.first_failure
        lines.append(f"Resolved: {incident.resolved_at:%Y-%m-%d %H:%M} UTC, after {lasted}")
    if incident.flaps:
        lines.append(f"Reopened {incident.flaps} time(s) after being resolved")
    lines += ["", f"Incident: {incident_url(settings, workspace_id, incident.id)}"]
    return title, "\n".join(lines), _KIND[alert.event]
