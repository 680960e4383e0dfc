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

import json
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from babel.dates import format_datetime

from app.i18n.catalogs import current_language, gettext, ngettext, use_language
from graph.text import Moment, Param, Text

__all__ = ["localized", "moment", "say", "text_json", "text_of", "told", "use_language"]


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


def _dumped(value: Param) -> Any:
    if isinstance(value, Text):
        params = {name: _dumped(item) for name, item in value.params.items()}
        plural = {"plural": value.plural, "count": value.count}
        return {"msgid": value.msgid, "params": params, **plural}
    if isinstance(value, Moment):
        return {"moment": value.seconds, "as_of": value.as_of}
    return value


def _loaded(value: Any) -> Param:
    if isinstance(value, dict) and "msgid" in value:
        params = {name: _loaded(item) for name, item in value["params"].items()}
        return Text(value["msgid"], params, value["plural"], value["count"])
    if isinstance(value, dict):
        return Moment(value["moment"], value["as_of"])
    return value  # type: ignore[no-any-return]


def text_json(text: Text | None) -> str | None:
    """A text as stored (a column of JSON), to say it later in the reader's language.

    >>> from graph.text import counted, phrase
    >>> text = phrase("Failing again: %(summary)s.", summary=counted("%(count)d order",
    ...               "%(count)d orders", 3))
    >>> text_of(text_json(text)) == text, str(text_of(text_json(text)))
    (True, 'Failing again: 3 orders.')
    """
    return None if text is None else json.dumps(_dumped(text), ensure_ascii=False)


def text_of(stored: str | None) -> Text | None:
    """The text :func:`text_json` stored (None for rows from before texts were kept)."""
    if not stored:
        return None
    loaded = _loaded(json.loads(stored))
    return loaded if isinstance(loaded, Text) else None


def told(message: str, stored: str | None) -> str:
    """A stored sentence (an incident's timeline entry): its English ``message``, or the
    ``stored`` text (:func:`text_json`) said in the language in force."""
    return said(text_of(stored), message)
