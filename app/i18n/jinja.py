"""Templates speak the language in force: Jinja2's i18n extension with gettext callables
that read it at render time (one environment serves every language), and Babel's formats as
filters."""

from __future__ import annotations

import jinja2

from app.i18n import formatting
from app.i18n.catalogs import current_language, gettext, ngettext
from app.i18n.texts import localized, told
from app.i18n.vocabulary import place, term, upfirst

LANGUAGE_NAMES = {"en": "English", "pl": "Polski"}
"""Each language in its own name, as a language switch shows it."""


def install(environment: jinja2.Environment) -> None:
    environment.add_extension("jinja2.ext.i18n")
    # {% trans %} blocks fold their whitespace, so a msgid does not depend on indentation.
    environment.policies["ext.i18n.trimmed"] = True
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext, ngettext, newstyle=True
    )
    environment.globals.update(
        lang=current_language, term=term, place=place, language_names=LANGUAGE_NAMES
    )
    # Each filter is named as its function; only a time is `utc_text` (formatting.when).
    environment.filters["utc_text"] = formatting.when
    for say in (
        formatting.number,
        formatting.money,
        formatting.percent,
        localized,
        told,
        term,
        upfirst,
    ):
        environment.filters[say.__name__] = say
