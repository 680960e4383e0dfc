"""One message through apprise, bounded in time; the URL (a secret) never reaches a log.

    NotificationError
     ├── BadChannelUrl     apprise does not understand the URL (or it names no service)
     ├── DeliveryFailed    the service refused the message or did not answer in time
     └── EgressRefused     the egress policy (ARBITER_EGRESS) refuses the channel's host

apprise speaks to Slack, Microsoft Teams, e-mail, Telegram, generic JSON webhooks and about a
hundred more services; which one is chosen by the URL's scheme (``slack://``, ``json://``...).
"""

from __future__ import annotations

import logging
import warnings
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import apprise

from app import egress

NotifyKind = Literal["info", "success", "warning", "failure"]


def _load_plugins() -> None:
    """Let apprise discover its plugins now, quietly.

    apprise loads them on first use, and one of them (PGP for e-mail) imports the standard
    module ``imghdr``, deprecated since Python 3.11: that warning belongs to a dependency, not
    to whichever alert happens to be the first.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        apprise.Apprise().add("json://localhost")


_load_plugins()

# apprise logs the URLs it cannot parse, and those hold credentials: its records stay with the
# LogCapture of a delivery (scrubbed there) and never reach the service's own logs.
logging.getLogger("apprise").propagate = False


class NotificationError(Exception):
    pass


class BadChannelUrl(NotificationError):
    pass


class DeliveryFailed(NotificationError):
    pass


class EgressRefused(NotificationError):
    """The egress policy refuses the channel's host: not retried, nothing was sent."""


def with_timeouts(url: str, timeout: float) -> str:
    """``url`` with apprise's connect (``cto``) and read (``rto``) timeouts unless it sets them.

    >>> with_timeouts("json://host/hook?x=1", 5)
    'json://host/hook?x=1&cto=5&rto=5'
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = {name for name, _ in query}
    seconds = f"{timeout:g}"
    query += [(name, seconds) for name in ("cto", "rto") if name not in names]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _load(url: str) -> apprise.Apprise:
    client = apprise.Apprise()
    try:
        added = client.add(url)
    except Exception as exc:  # apprise raises on some malformed URLs instead of returning False
        raise BadChannelUrl("apprise does not understand this URL") from exc
    if not added or len(client) != 1:
        raise BadChannelUrl("apprise does not understand this URL")
    return client


def masked(url: str) -> str:
    """The URL as apprise shows it with secrets hidden, without its path and query.

    Paths of webhook URLs often carry the token itself, so only the service and host remain.

    >>> masked("json://user:secret@hooks.example.com/T0K3N/abc?x=1")
    'json://user:****@hooks.example.com/…'
    """
    client = _load(url)
    private = str(client[0].url(privacy=True))  # type: ignore[no-untyped-call]
    parts = urlsplit(private)
    path = "/…" if parts.path.strip("/") else ""
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def check(url: str) -> str:
    """Raise :class:`BadChannelUrl` unless apprise takes ``url`` and the egress policy lets
    Arbiter reach its host; return its masked form."""
    shown = masked(url)
    refusal = _refusal(_load(url))
    if refusal:
        raise BadChannelUrl(refusal)
    return shown


def _refusal(client: apprise.Apprise) -> str | None:
    # Checked before any plugin connects (e-mail does not go through urllib3); HTTP plugins
    # are checked again on the address they connect to (app.egress).
    plugin = client[0]
    return egress.host_refusal(getattr(plugin, "host", None), getattr(plugin, "port", None))


def send(url: str, *, title: str, body: str, kind: NotifyKind, timeout: float) -> None:
    """Deliver one message, or raise :class:`DeliveryFailed` with what apprise reported
    (:class:`EgressRefused` when the egress policy refuses the channel's host)."""
    client = _load(with_timeouts(url, timeout))
    refusal = _refusal(client)
    if refusal:
        raise EgressRefused(refusal)
    with apprise.LogCapture(level=logging.WARNING) as captured:  # type: ignore[no-untyped-call]
        delivered = client.notify(body=body, title=title, notify_type=kind)
    if not delivered:
        reported = captured.getvalue().strip().splitlines()
        detail = "; ".join(_without_time(line) for line in reported[-3:]) or "not delivered"
        raise DeliveryFailed(_scrub(detail, url))


def _without_time(line: str) -> str:
    # LogCapture lines read "<time> - <LEVEL> - <message>".
    return line.split(" - ", 2)[-1]


def _scrub(text: str, url: str) -> str:
    """Never echo the URL or its credentials back (apprise messages sometimes contain them)."""
    parts = urlsplit(url)
    secrets = [url, parts.password or "", parts.path.strip("/")]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        if len(secret) >= 4:
            text = text.replace(secret, "****")
    return text[:1000]
