"""What the shop's customers read: the message templates, in Polish and English, in one place.

These are content the merchant chooses (and may edit before posting), in the language of the
shop's status page, not the interface's translations: each names only what customers feel,
never a system or a vendor. ``{email}`` and ``{phone}`` are the merchant's emergency contacts.
The page's own headings are marked with ``_`` in the template for Babel to extract.
"""

from __future__ import annotations

from typing import Literal

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

TEMPLATES: dict[TemplateKey, dict[Language, str]] = {
    "orders_late": {
        "en": "Orders are accepted, but order confirmations and shipping may be late.",
        "pl": "Zamówienia są przyjmowane, ale potwierdzenia i wysyłka mogą się opóźnić.",
    },
    "stock_stale": {
        "en": "Stock shown in the shop may be out of date.",
        "pl": "Stany magazynowe widoczne w sklepie mogą być nieaktualne.",
    },
    "shop_unavailable": {
        "en": "The shop is unavailable. Write to {email} or call {phone}.",
        "pl": "Sklep jest niedostępny. Napisz do nas: {email} lub zadzwoń: {phone}.",
    },
    "maintenance": {
        "en": "Planned maintenance: the shop may be unavailable for a while.",
        "pl": "Planowane prace serwisowe: sklep może być przez chwilę niedostępny.",
    },
    "maintenance_background": {
        "en": "Planned maintenance: orders are accepted, but confirmations may be late.",
        "pl": "Planowane prace serwisowe: zamówienia są przyjmowane, ale potwierdzenia mogą "
        "się opóźnić.",
    },
    "investigating": {
        "en": "We are looking into a problem and will post an update soon.",
        "pl": "Sprawdzamy problem i wkrótce podamy więcej informacji.",
    },
    "resolved": {
        "en": "Everything works again. Thank you for your patience.",
        "pl": "Wszystko znów działa. Dziękujemy za cierpliwość.",
    },
}

ALL_WELL: dict[Language, str] = {
    "en": "The shop works normally.",
    "pl": "Sklep działa normalnie.",
}


def fill(key: TemplateKey, language: Language, *, email: str | None, phone: str | None) -> str:
    """The template in ``language`` with the contacts filled in (a dash for one not set)."""
    return TEMPLATES[key][language].format(email=email or "—", phone=phone or "—")
