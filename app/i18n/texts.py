"""graph's sentences (:class:`graph.text.Text`) in the language in force.

>>> from graph.suspects import noun_text
>>> from graph.text import Moment, phrase
>>> text = phrase("%(count)s stuck between %(from)s and %(to)s", count=noun_text("order", 5),
...               **{"from": "shop", "to": "oms"})
>>> with use_language("pl"):
...     say(text)
'Zatrzymane między shop a oms: 5 zamówień'
>>> with use_language("pl"):
...     moment(Moment(86400.0 * 30 + 600, 86400.0 * 31))
'31 sty 00:10 UTC'
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from babel.dates import format_datetime

from app.i18n.catalogs import current_language, gettext, ngettext, use_language
from graph.text import Moment, Text

__all__ = ["localized", "moment", "say", "use_language"]


class _Summarized(Protocol):
    @property
    def summary(self) -> str: ...

    @property
    def summary_text(self) -> Text | None: ...


def moment(value: Moment) -> str:
    if current_language() == "en":
        return str(value)
    when = datetime.fromtimestamp(value.seconds, UTC)
    pattern = "HH:mm" if value.same_day else "d MMM HH:mm"
    return format_datetime(when, pattern, tzinfo=UTC, locale=current_language()) + " UTC"


def say(text: Text) -> str:
    return text.render(gettext, ngettext, moment)


def localized(result: _Summarized) -> str:
    """A suspect's or a drift's summary: its English one unless there is a text to translate."""
    text = result.summary_text
    if text is None or current_language() == "en":
        return result.summary
    return say(text)
