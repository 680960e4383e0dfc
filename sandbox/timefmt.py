"""The date formats each vendor speaks, from one aware UTC ``datetime``.

>>> from datetime import datetime, UTC
>>> t = datetime(2026, 11, 25, 10, 0, 5, tzinfo=UTC)
>>> iso_z(t), woo(t), odoo(t), unix(t)
('2026-11-25T10:00:05Z', '2026-11-25T10:00:05', '2026-11-25 10:00:05', 1795600805)
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def iso_z(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, millisecond precision at most (Arbiter's events)."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return text.replace(".000Z", "Z")


def woo(moment: datetime) -> str:
    """WooCommerce: ISO 8601 without a zone (``*_gmt`` fields are UTC; the site runs on UTC)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def odoo(moment: datetime) -> str:
    """Odoo and Magento: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def unix(moment: datetime) -> int:
    """BaseLinker: whole seconds since the epoch."""
    return int(moment.timestamp())


def parse(text: str) -> datetime:
    """Any of the formats above (and RFC 3339 offsets); a value without a zone is UTC.

    >>> parse("2026-11-25 10:00:05").isoformat()
    '2026-11-25T10:00:05+00:00'
    """
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace(" ", "T", 1))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
