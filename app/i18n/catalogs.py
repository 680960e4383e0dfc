"""The catalogs, compiled in memory from the .po files, and the language in force."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

Language = Literal["en", "pl"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
LOCALES = Path(__file__).parent / "locales"

_current: ContextVar[Language] = ContextVar("arbiter_language", default=DEFAULT_LANGUAGE)


def catalog_path(language: Language) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(language: Language) -> Translations:
    """The catalog of ``language``; fuzzy entries are left out, as gettext tools do."""
    with catalog_path(language).open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def current_language() -> Language:
    return _current.get()


@contextmanager
def use_language(language: Language) -> Iterator[None]:
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)


def set_language(language: Language) -> None:
    """For a request's whole handling (the middleware runs it in the request's own context)."""
    _current.set(language)


def gettext(message: str) -> str:
    return translations(_current.get()).ugettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)
