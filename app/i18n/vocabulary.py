"""Words the dashboard shows for values of the API (modes, statuses, roles, phases...).

The values stay English identifiers in the JSON; a page shows ``term(value)``: the English
label (underscores as spaces) or its translation. Each label is marked here so that Babel
extracts it and the catalog test sees a missing translation.

>>> term("rate_limited"), term("something_new")
('rate limited', 'something new')
>>> with use_language("pl"):
...     term("rate_limited"), term("owner")
('limit zapytań', 'właściciel')
"""

from __future__ import annotations

from typing import Any

from app.i18n import N_
from app.i18n.catalogs import gettext, use_language

__all__ = ["FIELDS", "TERMS", "place", "refusal", "term", "use_language"]

TERMS: dict[str, str] = {
    # failure modes (graph.hops.Mode)
    "missing": N_("missing"),
    "rejected": N_("rejected"),
    "rate_limited": N_("rate limited"),
    "unavailable": N_("unavailable"),
    "lost": N_("lost"),
    "late": N_("late"),
    "mismatch": N_("mismatch"),
    "down": N_("down"),
    # link and hop statuses (graph.results.LinkStatus, graph.hops.HopStatus)
    "healthy": N_("healthy"),
    "degraded": N_("degraded"),
    "failed": N_("failed"),
    "blocked": N_("blocked"),
    "no_data": N_("no data"),
    "ok": N_("ok"),
    "pending": N_("pending"),
    # incident phases and statuses
    "investigating": N_("investigating"),
    "identified": N_("identified"),
    "monitoring": N_("monitoring"),
    "resolved": N_("resolved"),
    "open": N_("open"),
    "all": N_("all"),
    # warning severities and kinds (app.warnings.models)
    "info": N_("info"),
    "warning": N_("warning"),
    "critical": N_("critical"),
    "error_rate_rising": N_("error rate rising"),
    "backlog_growing": N_("backlog growing"),
    "latency_rising": N_("latency rising"),
    "silent": N_("silent"),
    "credentials_failing": N_("credentials failing"),
    "credentials_expiring": N_("credentials expiring"),
    "rate_limit_pressure": N_("rate limit pressure"),
    "rate_limit_headroom_low": N_("rate limit headroom low"),
    "webhook_failing": N_("webhook failing"),
    "webhook_disabled": N_("webhook disabled"),
    "connector_stopped": N_("connector stopped"),
    "connector_error": N_("connector error"),
    "certificate_expiring": N_("certificate expiring"),
    "page_slow": N_("page slow"),
    "page_failing": N_("page failing"),
    # a connection's polling state (app.dashboard.service)
    "webhooks only": N_("webhooks only"),
    "failing": N_("failing"),
    "not polled yet": N_("not polled yet"),
    # roles
    "viewer": N_("viewer"),
    "operator": N_("operator"),
    "owner": N_("owner"),
    # status page states
    "operational": N_("operational"),
    "maintenance": N_("maintenance"),
    # flows
    "order": N_("order"),
    "stock": N_("stock"),
    # alerts
    "escalate": N_("escalate"),
    # contract breaches (app.contracts.penalties.BreachKind)
    "response": N_("response"),
    "resolution": N_("resolution"),
    "availability": N_("availability"),
}


LABELS = (
    # app.dashboard.pages.WINDOWS, which the overview's window menu shows through _()
    N_("1 hour"),
    N_("6 hours"),
    N_("24 hours"),
    N_("7 days"),
)
"""Labels other modules keep as plain English constants; marked here for the catalogs."""


def upfirst(text: str) -> str:
    """The first letter in capitals, the rest as it is (Jinja's capitalize lowers the rest).

    >>> upfirst("order link ERP → WMS")
    'Order link ERP → WMS'
    """
    return text[:1].upper() + text[1:]


FIELDS: dict[str, str] = {
    # the form fields a dashboard refusal names (accounts, people, API tokens)
    "email": N_("e-mail"),
    "password": N_("password"),
    "role": N_("role"),
    "account": N_("person"),
    "invitation": N_("invitation"),
    "owner": N_("belongs to"),
    "integration": N_("integration"),
    "expires": N_("expires after"),
    "token": N_("token"),
    "hours": N_("hours"),
    "language": N_("language"),
}


def refusal(field: str, expected: str, **params: object) -> str:
    """A form's refusal as the dashboard shows it: the field, then what it expects, both in
    the language in force (``expected`` is a marked message, filled with ``params``).

    >>> with use_language("pl"):
    ...     refusal("role", "a role no higher than your own")
    'rola: rola nie wyższa niż Twoja własna'
    """
    label = FIELDS.get(field)
    said = gettext(expected) % params if params else gettext(expected)
    return f"{gettext(label) if label else field}: {said}"


def term(value: str | None) -> str:
    if not value:
        return ""
    label = TERMS.get(value)
    return gettext(label) if label is not None else value.replace("_", " ")


def place(incident: Any) -> str:
    """Where an incident is, its flow in the language in force (the stored ``where`` and the
    API keep the English): "order oms → erp" is "zamówienia oms → erp" on a Polish page.

    >>> from types import SimpleNamespace as Of
    >>> on_link = Of(link=Of(flow="order", from_="oms", to="erp"), system=None)
    >>> with use_language("pl"):
    ...     place(on_link), place(Of(link=None, system="erp"))
    ('zamówienia oms → erp', 'system erp')
    >>> place(on_link)
    'order oms → erp'
    """
    link = incident.link
    if link is None:
        return f"system {incident.system}"
    return f"{term(link.flow)} {link.from_} → {link.to}"
