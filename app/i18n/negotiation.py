"""Which language a person reads: their own choice, then ``Accept-Language``, then English.

>>> pick(None, "pl-PL,pl;q=0.9,en;q=0.8")
'pl'
>>> pick("en", "pl")
'en'
>>> pick(None, "de-DE, fr;q=0.5"), pick("xx", "")
('en', 'en')
"""

from __future__ import annotations

from app.i18n.catalogs import DEFAULT_LANGUAGE, LANGUAGES, Language

COOKIE = "arbiter_lang"
"""The person's choice from the dashboard's language switch; a year long, not a secret."""


def as_language(value: str | None) -> Language | None:
    """``value`` if it names a language Arbiter speaks (``pl``, ``pl-PL``, ``PL``), else None."""
    if not value:
        return None
    primary = value.strip().lower().replace("_", "-").split("-", 1)[0]
    for language in LANGUAGES:
        if primary == language:
            return language
    return None


def language_of(value: str | None) -> Language:
    """A stored language code as a language Arbiter speaks; English for anything else."""
    return as_language(value) or DEFAULT_LANGUAGE


def from_accept_language(header: str | None) -> Language | None:
    """The best-weighted language of the header that Arbiter speaks (``q=0`` refuses one)."""
    ranked: list[tuple[float, int, Language]] = []
    for position, part in enumerate((header or "").split(",")[:50]):
        tag, _, params = part.partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        language = as_language(tag)
        if language is not None and weight > 0:
            ranked.append((-weight, position, language))
    return min(ranked)[2] if ranked else None


def pick(choice: str | None, accept_language: str | None) -> Language:
    return as_language(choice) or from_accept_language(accept_language) or DEFAULT_LANGUAGE
