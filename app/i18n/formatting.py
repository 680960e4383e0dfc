"""Dates, numbers and money as the reader's locale writes them (Babel's CLDR data).

>>> from datetime import UTC, datetime
>>> moment = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
>>> with use_language("pl"):
...     money(1234.56, "PLN"), number(1234.5), when(moment)
('1\\xa0234,56\\xa0zł', '1\\xa0234,50', '1 gru 2026, 09:05 UTC')
>>> money(1234.56, "PLN"), number(1234.5), when(moment)
('1234.56 PLN', '1234.50', '2026-12-01 09:05 UTC')
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from app.i18n.catalogs import Language, current_language, use_language

__all__ = ["money", "number", "percent", "use_language", "when"]

# English keeps the sortable form the dashboard always showed; Polish reads "1 gru 2026, 09:05".
_PATTERNS: dict[Language, str] = {"en": "yyyy-MM-dd HH:mm", "pl": "d MMM y, HH:mm"}


def when(moment: datetime | None) -> str:
    """A moment in UTC (the browser rewrites it to its own zone where it runs scripts)."""
    if moment is None:
        return "—"
    language = current_language()
    text = format_datetime(moment.astimezone(UTC), _PATTERNS[language], tzinfo=UTC, locale=language)
    return f"{text} UTC"


def number(value: float | int | Decimal, digits: int = 2) -> str:
    """A number with ``digits`` decimals: plain in English (as the pages always showed it),
    with the locale's separators in Polish."""
    places = "." + "0" * digits if digits else ""
    pattern = ("#,##0" if current_language() != "en" else "0") + places
    return format_decimal(value, format=pattern, locale=current_language())


def money(amount: float | int | Decimal, currency: str) -> str:
    """An amount of money: ``1234.56 PLN`` in English, ``1 234,56 zł`` in Polish."""
    if current_language() == "en":
        return f"{number(amount)} {currency}"
    return format_currency(amount, currency, locale=current_language())


def percent(ratio: float, digits: int = 0) -> str:
    places = "." + "0" * digits if digits else ""
    return format_percent(ratio, format="#,##0" + places + "%", locale=current_language())
