"""Connectors: each external system's wire format turned into normalized events.

The app builds one with :func:`build_connector` and calls ``poll``/``test`` on it, and hands
webhook deliveries to :func:`parse_webhook`. See :mod:`connectors.base` for the exception tree.
"""

from connectors.base import (
    CREDENTIAL_FIELDS,
    REQUIRED_CREDENTIALS,
    SECRET_FIELDS,
    AuthError,
    CheckResult,
    Connector,
    ConnectorError,
    PollResult,
    ProtocolError,
    RateLimited,
    RateLimitStatus,
    Unavailable,
    credential_problems,
    utc_now,
)
from connectors.http import RetryPolicy
from connectors.registry import build_connector
from connectors.webhooks import (
    WEBHOOK_KINDS,
    PayloadError,
    SignatureError,
    UnsupportedWebhookKind,
    WebhookError,
    WebhookResult,
    is_woocommerce_ping,
    parse_webhook,
    verify_woocommerce_signature,
)

__all__ = [
    "CREDENTIAL_FIELDS",
    "REQUIRED_CREDENTIALS",
    "SECRET_FIELDS",
    "WEBHOOK_KINDS",
    "AuthError",
    "CheckResult",
    "Connector",
    "ConnectorError",
    "PayloadError",
    "PollResult",
    "ProtocolError",
    "RateLimitStatus",
    "RateLimited",
    "RetryPolicy",
    "SignatureError",
    "Unavailable",
    "UnsupportedWebhookKind",
    "WebhookError",
    "WebhookResult",
    "build_connector",
    "credential_problems",
    "is_woocommerce_ping",
    "parse_webhook",
    "utc_now",
    "verify_woocommerce_signature",
]
