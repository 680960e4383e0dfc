"""Sentences as a message id and parameters, so the app can say them in another language.

graph stays pure: it never translates. It writes each summary as a :class:`Text`, a message
id (English, Python ``%(name)s`` placeholders) and its parameters, and spells it in English
for the API. The app looks the same ids up in its gettext catalogs and fills in the same
parameters. ``phrase`` and ``counted`` are the keywords Babel extracts the ids by.

>>> stuck = counted("%(count)d order", "%(count)d orders", 37)
>>> str(phrase("%(what)s stuck since %(since)s", what=stuck, since=Moment(36120.0, 43200.0)))
'37 orders stuck since 10:02 UTC'
>>> str(counted("%(count)d order", "%(count)d orders", 1))
'1 order'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Union

Param = Union[str, int, float, "Text", "Moment"]


@dataclass(frozen=True)
class Moment:
    """A time as a merchant reads it: ``10:02 UTC``, with the date when not ``as_of``'s day."""

    seconds: float
    as_of: float

    @property
    def same_day(self) -> bool:
        when = datetime.fromtimestamp(self.seconds, UTC)
        return when.date() == datetime.fromtimestamp(self.as_of, UTC).date()

    def __str__(self) -> str:
        when = datetime.fromtimestamp(self.seconds, UTC)
        return when.strftime("%H:%M UTC" if self.same_day else "%b %d %H:%M UTC")


@dataclass(frozen=True)
class Text:
    """``msgid % params`` in English; ``plural`` and ``count`` choose a plural form."""

    msgid: str
    params: Mapping[str, Param] = field(default_factory=dict)
    plural: str | None = None
    count: int | None = None

    def render(
        self,
        gettext: Callable[[str], str],
        ngettext: Callable[[str, str, int], str],
        moment: Callable[[Moment], str] = str,
    ) -> str:
        """The sentence through a catalog: nested texts and moments are rendered the same way."""
        values: dict[str, object] = {}
        for name, value in self.params.items():
            if isinstance(value, Text):
                values[name] = value.render(gettext, ngettext, moment)
            elif isinstance(value, Moment):
                values[name] = moment(value)
            else:
                values[name] = value
        if self.plural is not None and self.count is not None:
            values.setdefault("count", self.count)
            template = ngettext(self.msgid, self.plural, self.count)
        else:
            template = gettext(self.msgid)
        return template % values if values else template

    def __str__(self) -> str:
        return self.render(_english, _english_plural)


def _english(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def phrase(msgid: str, **params: Param) -> Text:
    return Text(msgid, params)


def counted(singular: str, plural: str, count: int, **params: Param) -> Text:
    return Text(singular, params, plural, count)
