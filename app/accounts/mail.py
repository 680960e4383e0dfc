"""Invitation and reset links by mail, through the alert channels' sender (apprise).

The account mail URL (``ARBITER_ACCOUNT_MAIL_URL``) names the SMTP server; each message goes
to the account's own address (apprise's ``to`` parameter for the mail schemes). A failed
delivery is logged without the URL (it holds the SMTP password) and never fails the request:
the person asking sees the same answer either way.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from app.notifications import sender
from app.settings import Settings

log = logging.getLogger("arbiter.accounts")


def addressed(url: str, to: str) -> str:
    """The mail URL with the recipient set; other schemes (a JSON hook) are left as they are."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("mailto"):
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "to"] + [("to", to)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def send_link(settings: Settings, to: str, title: str, body: str) -> bool:
    """Mail ``body`` to ``to``; False when no mail is configured or delivery failed."""
    if settings.account_mail_url is None:
        return False
    url = addressed(settings.account_mail_url.get_secret_value(), to)
    try:
        sender.send(url, title=title, body=body, kind="info", timeout=10.0)
    except sender.NotificationError as exc:
        log.warning("account mail to %s not delivered: %s", to, exc)
        return False
    return True
