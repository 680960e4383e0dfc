"""What every connector is and returns, the errors it raises, and the credentials each kind takes.

:mod:`connectors.registry` builds a connector of a kind.

A connector polls one external system in its own wire format and turns what it reads into
normalized :class:`graph.model.Event` objects. Every HTTP call it makes is returned too, as a
``call`` event from the reserved system ``arbiter``: that is Arbiter's own evidence about the
system it called.

Exception tree (every error a connector raises is a :class:`ConnectorError`; ``.events`` holds
the evidence gathered before the failure, call events included, so the caller can store it)::

    ConnectorError          base: anything a connector could not do
     ├── AuthError          401/403, a bad or expired token, a refused login
     ├── RateLimited        429 or the vendor's own limit; ``retry_after`` in seconds or None
     ├── Unavailable        5xx, timeout or connection error, after the retries
     └── ProtocolError      malformed body or a vendor error body; ``code`` and ``message``

>>> sorted(CREDENTIAL_FIELDS)
['baselinker', 'magento', 'odoo', 'woocommerce']
>>> credential_problems("woocommerce", {"consumer_key": "ck_1"})
['consumer_secret is required']
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol

from graph.model import Event


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConnectorError(Exception):
    """A connector could not do what it was asked; ``events`` is the evidence gathered so far."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.events: list[Event] = []


class AuthError(ConnectorError):
    """The system refused the credentials (401/403, bad token, refused login)."""


class RateLimited(ConnectorError):
    """The system throttled us (429 or its own limit); ``retry_after`` seconds when it said."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        status: int | None = None,
        code: str | None = None,
    ):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class Unavailable(ConnectorError):
    """No usable answer: 5xx, timeout or connection error, after the retries."""


class ProtocolError(ConnectorError):
    """An answer we cannot use: malformed body, or the vendor's own error body."""


@dataclass(frozen=True)
class RateLimitStatus:
    """Headroom under the vendor's rate limit, as far as the connector knows it."""

    limit: int | None
    remaining: int | None
    reset_at: datetime | None
    window_seconds: float | None


@dataclass(frozen=True)
class CheckResult:
    """One line of a "test connection" answer."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class PollResult:
    """One incremental round: events (seen and call), the cursor to persist, and remarks."""

    events: list[Event]
    cursor: dict[str, Any]
    rate_limit: RateLimitStatus | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """Problems the user must see (connector warnings), as opposed to routine ``notes``."""
    health: dict[str, Any] = field(default_factory=dict)
    """What the system reports of its own health (WooCommerce: webhooks it disabled, versions,
    WP-Cron; Magento: enabled modules, store configuration), in the keys of the connector
    status that the warning rules read."""


class Connector(Protocol):
    kind: ClassVar[str]

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        """One incremental round from ``cursor`` (None: first run, from now minus lookback)."""
        ...

    async def test(self) -> list[CheckResult]:
        """Try the credentials and endpoints; say what worked and what did not. Never raises."""
        ...


CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    "woocommerce": ("consumer_key", "consumer_secret", "auth"),
    "magento": (
        "access_token",
        "consumer_key",
        "consumer_secret",
        "access_token_secret",
        "store_code",
        "source_code",
        "stock_id",
        "msi",
    ),
    "baselinker": ("token", "inventory_id", "warehouse_id", "order_source_id"),
    "odoo": ("protocol", "database", "login", "username", "password", "api_key", "stock_quantity"),
}
"""Every credential field each kind accepts (required and optional); see credential_problems."""

REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "woocommerce": ("consumer_key", "consumer_secret"),
    "magento": ("access_token",),  # with consumer_key/secret and access_token_secret: OAuth 1.0a
    "baselinker": ("token",),
    "odoo": (),  # depends on the protocol: see credential_problems
}

SECRET_FIELDS: dict[str, frozenset[str]] = {
    "woocommerce": frozenset({"consumer_key", "consumer_secret"}),
    "magento": frozenset(
        {"access_token", "consumer_key", "consumer_secret", "access_token_secret"}
    ),
    "baselinker": frozenset({"token"}),
    "odoo": frozenset({"password", "api_key"}),
}
"""Credential fields to mask in answers and logs, per kind."""

ODOO_PROTOCOLS = ("jsonrpc", "json2")
WOO_AUTH = ("oauth1", "basic", "query")
MAGENTO_OAUTH = ("consumer_key", "consumer_secret", "access_token_secret")


def credential_problems(kind: str, credentials: Mapping[str, str]) -> list[str]:
    """What is wrong with a connection's credentials for ``kind`` (empty list: nothing).

    Messages name fields, never their values.
    """
    if kind not in CREDENTIAL_FIELDS:
        return [f"unknown connector kind {kind!r}; known: {', '.join(sorted(CREDENTIAL_FIELDS))}"]
    problems = [
        f"{name} is required"
        for name in REQUIRED_CREDENTIALS[kind]
        if not str(credentials.get(name) or "").strip()
    ]
    unknown = sorted(set(credentials) - set(CREDENTIAL_FIELDS[kind]))
    problems += [f"{name} is not a {kind} credential" for name in unknown]
    if kind == "odoo":
        protocol = credentials.get("protocol") or "jsonrpc"
        if protocol not in ODOO_PROTOCOLS:
            problems.append("protocol must be 'jsonrpc' or 'json2'")
        elif protocol == "jsonrpc":
            if not credentials.get("database"):
                problems.append("database is required for the jsonrpc protocol")
            if not (credentials.get("login") or credentials.get("username")):
                problems.append("login (or username) is required for the jsonrpc protocol")
            if not (credentials.get("password") or credentials.get("api_key")):
                problems.append("password or api_key is required for the jsonrpc protocol")
        elif not credentials.get("api_key"):
            problems.append("api_key is required for the json2 protocol")
        if credentials.get("stock_quantity", "available") not in ("available", "on_hand"):
            problems.append("stock_quantity must be 'available' or 'on_hand'")
    if kind == "woocommerce" and credentials.get("auth", "oauth1") not in WOO_AUTH:
        problems.append("auth must be 'oauth1', 'basic' or 'query'")
    if kind == "magento":
        oauth = [credentials.get(n) for n in MAGENTO_OAUTH]
        if any(oauth) and not all(oauth):
            problems.append(
                "OAuth 1.0a needs all of consumer_key, consumer_secret and access_token_secret "
                "(with access_token); leave all three empty for a bearer token"
            )
        if credentials.get("msi", "yes") not in ("yes", "no"):
            problems.append("msi must be 'yes' or 'no'")
        if credentials.get("stock_id") and not str(credentials["stock_id"]).isdigit():
            problems.append("stock_id must be a number")
    inventory_id = credentials.get("inventory_id") if kind == "baselinker" else None
    if inventory_id and not str(inventory_id).isdigit():
        problems.append("inventory_id must be a number")
    source_id = credentials.get("order_source_id") if kind == "baselinker" else None
    if source_id and not str(source_id).isdigit():
        problems.append("order_source_id must be a number (the shop's id in getOrderSources)")
    return problems


Sleep = Callable[[float], Awaitable[None]]
