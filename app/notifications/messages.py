"""The words of an alert: what failed where, how, who answers for it, and where to look.

An alert speaks the workspace's language: the language its merchant chose for the shop's
status page (Polish or English), English when there is no page. The diagnosis summary inside
is the incident's, said from the message and parameters graph wrote it as (an incident stored
before those were kept has its English summary only).
"""

from __future__ import annotations

from sqlalchemy import Connection

from app.i18n import DEFAULT_LANGUAGE, Language, gettext, ngettext, use_language
from app.i18n.formatting import when
from app.i18n.texts import said
from app.i18n.vocabulary import term
from app.incidents.lifecycle import Alert
from app.incidents.models import incident_url
from app.notifications.sender import NotifyKind
from app.settings import Settings
from app.status.service import get_page

_KIND: dict[str, NotifyKind] = {"open": "failure", "escalate": "warning", "resolve": "success"}


def workspace_language(connection: Connection, workspace_id: str) -> Language:
    page = get_page(connection, workspace_id)
    return DEFAULT_LANGUAGE if page is None else page.language


def alert_message(
    alert: Alert, workspace_id: str, settings: Settings, language: Language = DEFAULT_LANGUAGE
) -> tuple[str, str, NotifyKind]:
    """(title, body, apprise notify type) of ``alert``, in ``language``."""
    with use_language(language):
        return _message(alert, workspace_id, settings)


def _message(alert: Alert, workspace_id: str, settings: Settings) -> tuple[str, str, NotifyKind]:
    incident = alert.incident
    assert incident.id is not None
    if alert.event == "open":
        verb = gettext("reopened (flapping)") if alert.reopened else gettext("opened")
    elif alert.event == "escalate":
        verb = gettext("escalated to %(count)d affected") % {"count": incident.affected}
    else:
        verb = gettext("resolved")
    facts = {
        "ws": workspace_id,
        "id": incident.id,
        "verb": verb,
        "where": incident.where,
        "mode": term(incident.mode),
        "who": incident.responsible,
    }
    title = gettext("[Arbiter %(ws)s] Incident #%(id)s %(verb)s: %(where)s %(mode)s (%(who)s)")
    lines = [
        said(incident.summary_text, incident.summary),
        "",
        gettext("Link: %(where)s") % facts,
        gettext("Mode: %(mode)s") % facts,
        gettext("Responsible: %(who)s") % facts,
        gettext("Affected: %(affected)d (healthy: %(healthy)d)")
        % {"affected": incident.affected, "healthy": incident.healthy},
        gettext("First failure: %(time)s") % {"time": when(incident.first_failure)},
    ]
    if alert.event == "resolve" and incident.resolved_at is not None:
        lasted = incident.resolved_at - incident.first_failure
        lines.append(
            gettext("Resolved: %(time)s, after %(lasted)s")
            % {"time": when(incident.resolved_at), "lasted": lasted}
        )
    if incident.flaps:
        lines.append(
            ngettext(
                "Reopened %(count)d time after being resolved",
                "Reopened %(count)d times after being resolved",
                incident.flaps,
            )
            % {"count": incident.flaps}
        )
    link = incident_url(settings, workspace_id, incident.id)
    lines += ["", gettext("Incident: %(url)s") % {"url": link}]
    return title % facts, "\n".join(lines), _KIND[alert.event]
