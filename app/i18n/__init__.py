"""Polish and English for everything a person reads: gettext catalogs through Babel.

The catalogs are ``locales/{pl,en}/LC_MESSAGES/messages.po``, compiled in memory when first
used (no build step, so a fresh clone runs as it is). The language of one request or one
rendering lives in a context variable: the dashboard's middleware sets it from the person's
choice (a cookie) or ``Accept-Language``; a status page, an alert or a vendor link sets it
from what the merchant chose for it.

>>> with use_language("pl"):
...     gettext("Overview"), ngettext("%(count)d order", "%(count)d orders", 37) % {"count": 37}
('Przegląd', '37 zamówień')
>>> gettext("Overview")
'Overview'
"""

from __future__ import annotations

from app.i18n.catalogs import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Language,
    current_language,
    gettext,
    ngettext,
    translations,
    use_language,
)

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Language",
    "current_language",
    "gettext",
    "ngettext",
    "translations",
    "use_language",
]


def N_(message: str) -> str:
    """Marks ``message`` for extraction where it is translated later (module constants)."""
    return message
