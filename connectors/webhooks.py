"""Verify and parse what systems push: WooCommerce's native webhooks and Standard Webhooks.

The receiver calls :func:`parse_webhook` with the raw body and headers; it verifies first and
parses second, so nothing unsigned becomes an event.

Exception tree::

    WebhookError
     ├── SignatureError         missing or wrong signature, stale timestamp: answer 401
     ├── PayloadError           signed, but the body is not usable: answer 422 (``errors``)
     └── UnsupportedWebhookKind the system's kind receives no webhooks (also a ValueError)

- **WooCommerce**: ``X-WC-Webhook-Signature`` is base64(HMAC-SHA256(raw body, secret));
  ``X-WC-Webhook-Topic`` (``order.created``, ``order.updated``, ``product.updated``, ...) says
  what the body (the REST v3 resource) is. When a webhook is saved WooCommerce pings the URL
  with the form body ``webhook_id=<id>`` and no ``X-WC-Webhook-*`` headers: that ping is
  answered (``is_ping``) without events. An order's event id is the one polling gives the same
  order state (number and modification time), so a redelivery, even under a new
  ``X-WC-Webhook-Delivery-ID``, and a later poll are duplicates, not new events. A product's
  stock has no reliable modification time, so its event is keyed by the delivery id.
- **Standard Webhooks** (kind ``generic``): ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature`` (space-separated ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``);
  the secret may be ``whsec_<base64>``; the timestamp must be within 5 minutes of ``now``. The
  body is one CONTRACT event or ``{"events": [...]}``, about the sending system.

>>> body = b'{"id": 1}'
>>> verify_woocommerce_signature(body, sign_woocommerce(body, "s3cret"), "s3cret")
True
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pydantic_core
from pydantic import ValidationError

from connectors.polling import EventBuilder, event_id, parse_time
from connectors.woocommerce import order_to_event, product_level
from graph.model import Event

TOLERANCE = timedelta(minutes=5)
MAX_EVENTS = 10_000
STANDARD_KINDS = frozenset({"generic", "standard_webhooks"})
WEBHOOK_KINDS = frozenset({"woocommerce"}) | STANDARD_KINDS
"""Kinds :func:`parse_webhook` accepts; any other kind raises UnsupportedWebhookKind."""


class WebhookError(Exception):
    pass


class SignatureError(WebhookError):
    """The request is not proven to come from the system: answer 401, store nothing."""


class PayloadError(WebhookError):
    """Signed, but not usable: answer 422. ``errors`` says what, per event where it can."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors or [message]


class UnsupportedWebhookKind(WebhookError, ValueError):
    """The system's kind sends no webhooks Arbiter understands (Magento, Odoo, BaseLinker)."""


@dataclass(frozen=True)
class WebhookResult:
    events: list[Event]
    is_ping: bool = False
    delivery_id: str | None = None
    topic: str | None = None
    notes: list[str] = field(default_factory=list)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


# -- WooCommerce ---------------------------------------------------------------------------------


def sign_woocommerce(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify_woocommerce_signature(body: bytes, signature_header: str | None, secret: str) -> bool:
    """True when the header is base64(HMAC-SHA256(body, secret)); compared in constant time."""
    if not signature_header or not secret:
        return False
    expected = sign_woocommerce(body, secret).encode()
    return hmac.compare_digest(expected, signature_header.strip().encode())


def is_woocommerce_ping(headers: Mapping[str, str], body: bytes) -> bool:
    """The unsigned ping WooCommerce sends when a webhook is saved: ``webhook_id=<id>``."""
    if any(key.startswith("x-wc-webhook-") for key in _lower(headers)):
        return False
    try:
        form = parse_qs(body.decode("ascii").strip(), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    ids = form.get("webhook_id", [])
    return set(form) == {"webhook_id"} and len(ids) == 1 and ids[0].isdigit()


def _parse_woocommerce(
    builder: EventBuilder, headers: Mapping[str, str], body: bytes, secret: str, now: datetime
) -> WebhookResult:
    if is_woocommerce_ping(headers, body):
        return WebhookResult(events=[], is_ping=True)
    lower = _lower(headers)
    if not secret:
        raise SignatureError("no webhook secret is configured for this system")
    signature = lower.get("x-wc-webhook-signature")
    if not signature:
        raise SignatureError("X-WC-Webhook-Signature is missing")
    if not verify_woocommerce_signature(body, signature, secret):
        raise SignatureError("X-WC-Webhook-Signature does not match the body")
    topic = lower.get("x-wc-webhook-topic", "")
    delivery = lower.get("x-wc-webhook-delivery-id") or hashlib.sha256(body).hexdigest()[:32]
    resource = _json(body)
    if not isinstance(resource, dict):
        raise PayloadError("body is not a JSON object")
    kind, _, action = topic.partition(".")
    result = WebhookResult(events=[], delivery_id=delivery, topic=topic)
    if action == "deleted" or kind not in ("order", "product"):
        result.notes.append(f"topic {topic or '(none)'} carries no order or stock: ignored")
        return result
    try:
        if kind == "order":
            undated = parse_time(resource.get("date_modified_gmt")) is None
            id_parts: tuple[object, ...] = ("woo-webhook", delivery) if undated else ()
            result.events.append(
                order_to_event(builder, resource, default_time=now, id_parts=id_parts)
            )
        elif resource.get("sku"):
            quantity, state, extra = product_level(resource)
            result.events.append(
                builder.stock_event(
                    sku=str(resource["sku"]),
                    quantity=quantity,
                    at=now,
                    state=state,
                    extra=extra,
                    id_suffix=f"woo-webhook:{delivery}",
                )
            )
        else:
            result.notes.append("product without a SKU: ignored")
    except (ValueError, TypeError) as exc:
        raise PayloadError(f"{topic}: {exc}") from exc
    return result


def _json(body: bytes) -> Any:
    """The body parsed (pydantic-core's parser: half the time of ``json.loads`` on an order,
    and a ValueError rather than a RecursionError when nested too deeply); a UTF-8 byte order
    mark before it is allowed, as ``json.loads`` allows it."""
    try:
        return pydantic_core.from_json(body.removeprefix(codecs.BOM_UTF8))
    except ValueError as exc:
        raise PayloadError(f"body is not JSON: {exc}") from exc


# -- Standard Webhooks ---------------------------------------------------------------------------


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise SignatureError("the whsec_ secret is not valid base64") from exc
    return secret.encode()


def sign_standard_webhook(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value a sender puts on ``body``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify_standard_webhook(
    headers: Mapping[str, str], body: bytes, secret: str, now: datetime
) -> tuple[str, datetime]:
    """(webhook-id, its timestamp) when signed with ``secret`` within tolerance; else raises."""
    lower = _lower(headers)
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not (msg_id and stamp and signatures):
        raise SignatureError("webhook-id, webhook-timestamp and webhook-signature are required")
    if not secret:
        raise SignatureError("no webhook secret is configured for this system")
    try:
        sent = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise SignatureError("webhook-timestamp is not a Unix time in seconds") from exc
    if abs(now - sent) > TOLERANCE:
        raise SignatureError("webhook-timestamp is more than 5 minutes away from now")
    expected = sign_standard_webhook(secret, msg_id, int(stamp), body).encode()
    for candidate in signatures.split():
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(expected, candidate.encode()):
            return msg_id, sent
    raise SignatureError("webhook-signature does not match the body")


def _parse_standard(
    system_id: str, headers: Mapping[str, str], body: bytes, secret: str, now: datetime
) -> WebhookResult:
    msg_id, sent = verify_standard_webhook(headers, body, secret, now)
    payload = _json(body)
    if isinstance(payload, dict) and isinstance(payload.get("events"), list):
        items: list[Any] = payload["events"]
    elif isinstance(payload, dict) and "events" not in payload:
        items = [payload]
    else:
        raise PayloadError('body must be one event or {"events": [...]}')
    if len(items) > MAX_EVENTS:
        raise PayloadError(f"at most {MAX_EVENTS} events a delivery")
    events: list[Event] = []
    errors: list[str] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"events[{index}]: not an object")
            continue
        item = {
            "id": event_id(system_id, "webhook", msg_id, index),
            "time": sent.isoformat(),
            "system": system_id,
            **item,
        }
        if item["system"] != system_id:
            errors.append(f"events[{index}].system: must be {system_id!r}, the signing system")
            continue
        try:
            events.append(Event.model_validate(item))
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                errors.append(f"events[{index}].{where}: {error['msg']}")
    if errors:
        raise PayloadError(f"{len(errors)} problem(s) in the events", errors)
    return WebhookResult(events=events, delivery_id=msg_id)


# -- entry point ---------------------------------------------------------------------------------


def parse_webhook(
    kind: str,
    *,
    system_id: str,
    headers: Mapping[str, str],
    body: bytes,
    secret: str,
    now: datetime,
    upstream: str | None = None,
    order_flow: str = "order",
    stock_flow: str = "stock",
) -> WebhookResult:
    """Verify one delivery to ``system_id`` (of connector ``kind``) and turn it into events.

    Raises SignatureError (401), PayloadError (422) or UnsupportedWebhookKind.
    """
    if kind == "woocommerce":
        builder = EventBuilder(
            system_id=system_id, upstream=upstream, order_flow=order_flow, stock_flow=stock_flow
        )
        return _parse_woocommerce(builder, headers, body, secret, now)
    if kind in STANDARD_KINDS:
        return _parse_standard(system_id, headers, body, secret, now)
    raise UnsupportedWebhookKind(
        f"systems of kind {kind!r} send no webhooks Arbiter understands"
        + (" (Magento Open Source has none: it is polled)" if kind == "magento" else "")
        + "; use a system of kind 'generic' (Standard Webhooks) or the events API"
    )
