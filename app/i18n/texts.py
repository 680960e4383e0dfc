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
from typing import Protocol, runtime_checkable

from babel.dates import format_datetime

from app.i18n.catalogs import current_language, gettext, ngettext, use_language
from graph.text import Moment, Text

__all__ = ["localized", "moment", "say", "use_language"]


@runtime_checkable
class _Summarized(Protocol):
    @property
    def summary(self) -> str: ...

    @property
    def summary_text(self) -> Text | None: ...


class _Message(Protocol):
    @property
    def message(self) -> str: ...

    @property
    def message_text(self) -> Text | None: ...


def moment(value: Moment) -> str:
    if current_language() == "en":
        return str(value)
    when = datetime.fromtimestamp(value.seconds, UTC)
    pattern = "HH:mm" if value.same_day else "d MMM HH:mm"
    return format_datetime(when, pattern, tzinfo=UTC, locale=current_language()) + " UTC"


def say(text: Text) -> str:
    return text.render(gettext, ngettext, moment)


def said(text: Text | None, english: str) -> str:
    """``english`` in the language in force, when graph also gave it as ``text``."""
    if text is None or current_language() == "en":
        return english
    return say(text)


def localized(result: _Summarized | _Message) -> str:
    """A suspect's or a drift's summary, a warning's message: the English one unless there is
    a text to translate."""
    if isinstance(result, _Summarized):
        english, text = result.summary, result.summary_text
    else:
        english, text = result.message, result.message_text
    if text is None or current_language() == "en":
        return english
    return say(text)
