"""What the shop's customers read: the message templates, in Polish and English.

These are content the merchant chooses (and may edit before posting), in the language of the
shop's status page: each names only what customers feel, never a system or a vendor.
``{email}`` and ``{phone}`` are the merchant's emergency contacts. The texts live in the
gettext catalogs with the rest of the interface (app/i18n/locales), the English as message id.

>>> fill("shop_unavailable", "pl", email="sklep@example.pl", phone=None)
'Sklep jest niedostępny. Napisz do nas: sklep@example.pl lub zadzwoń: —.'
"""

from __future__ import annotations

from typing import Literal

from app.i18n import LANGUAGES, N_, gettext, use_language

Language = Literal["pl", "en"]
TemplateKey = Literal[
    "orders_late",
    "stock_stale",
    "shop_unavailable",
    "maintenance",
    "maintenance_background",
    "investigating",
    "resolved",
]

_MESSAGES: dict[TemplateKey, str] = {
    "orders_late": N_("Orders are accepted, but order confirmations and shipping may be late."),
    "stock_stale": N_("Stock shown in the shop may be out of date."),
    "shop_unavailable": N_("The shop is unavailable. Write to {email} or call {phone}."),
    "maintenance": N_("Planned maintenance: the shop may be unavailable for a while."),
    "maintenance_background": N_(
        "Planned maintenance: orders are accepted, but confirmations may be late."
    ),
    "investigating": N_("We are looking into a problem and will post an update soon."),
    "resolved": N_("Everything works again. Thank you for your patience."),
}


def _in_each_language(message: str) -> dict[Language, str]:
    found: dict[Language, str] = {}
    for language in LANGUAGES:
        with use_language(language):
            found[language] = gettext(message)
    return found


TEMPLATES: dict[TemplateKey, dict[Language, str]] = {
    key: _in_each_language(message) for key, message in _MESSAGES.items()
}
"""Each template in each language, from the catalogs (app/i18n/locales)."""

ALL_WELL: dict[Language, str] = _in_each_language(N_("The shop works normally."))


def fill(key: TemplateKey, language: Language, *, email: str | None, phone: str | None) -> str:
    """The template in ``language`` with the contacts filled in (a dash for one not set)."""
    return TEMPLATES[key][language].format(email=email or "—", phone=phone or "—")
