from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from connectors.webhooks import (
    PayloadError,
    SignatureError,
    UnsupportedWebhookKind,
    WebhookResult,
    is_woocommerce_ping,
    parse_webhook,
    sign_standard_webhook,
    sign_woocommerce,
    verify_woocommerce_signature,
)
from tests.connectors.conftest import FIXTURES, NOW, ORDER_4505_DATA

SECRET = "wc-webhook-secret"
ORDER_BODY = (FIXTURES / "woocommerce" / "webhook_order_updated.json").read_bytes()
PRODUCT_BODY = (FIXTURES / "woocommerce" / "webhook_product_updated.json").read_bytes()


def woo_headers(body: bytes, topic: str = "order.updated", delivery: str = "d-1") -> dict[str, str]:
    resource, _, event = topic.partition(".")
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": sign_woocommerce(body, SECRET),
        "X-WC-Webhook-ID": "12",
        "X-WC-Webhook-Delivery-ID": delivery,
    }


def woo(body: bytes, headers: dict[str, str], secret: str = SECRET) -> WebhookResult:
    return parse_webhook(
        "woocommerce", system_id="shop", headers=headers, body=body, secret=secret, now=NOW
    )


def test_woocommerce_signature_good_bad_missing() -> None:
    good = sign_woocommerce(ORDER_BODY, SECRET)
    assert verify_woocommerce_signature(ORDER_BODY, good, SECRET)
    assert not verify_woocommerce_signature(ORDER_BODY + b" ", good, SECRET)
    assert not verify_woocommerce_signature(ORDER_BODY, good, "other")
    assert not verify_woocommerce_signature(ORDER_BODY, None, SECRET)
    assert not verify_woocommerce_signature(ORDER_BODY, good, "")

    headers = woo_headers(ORDER_BODY)
    headers["X-WC-Webhook-Signature"] = base64.b64encode(b"x" * 32).decode()
    with pytest.raises(SignatureError, match="does not match"):
        woo(ORDER_BODY, headers)
    del headers["X-WC-Webhook-Signature"]
    with pytest.raises(SignatureError, match="missing"):
        woo(ORDER_BODY, headers)
    with pytest.raises(SignatureError, match="no webhook secret"):
        woo(ORDER_BODY, woo_headers(ORDER_BODY), secret="")


def test_order_webhook_gives_the_same_event_as_polling() -> None:
    result = woo(ORDER_BODY, woo_headers(ORDER_BODY))
    assert not result.is_ping
    assert result.delivery_id == "d-1"
    assert result.topic == "order.updated"
    [event] = result.events
    assert event.id == "shop:order:100045:2026-11-25T11:15:00Z"  # as the poller names it
    assert event.refs == {"shop": "100045"}
    assert event.state == "completed"
    assert event.data == ORDER_4505_DATA


def test_redelivery_is_a_duplicate_even_under_a_new_delivery_id() -> None:
    first = woo(ORDER_BODY, woo_headers(ORDER_BODY, delivery="d-1"))
    again = woo(ORDER_BODY, woo_headers(ORDER_BODY, delivery="d-1"))
    resent = woo(ORDER_BODY, woo_headers(ORDER_BODY, delivery="d-2"))
    assert first.events == again.events
    assert [e.id for e in resent.events] == [e.id for e in first.events]

    stock = woo(PRODUCT_BODY, woo_headers(PRODUCT_BODY, "product.updated", delivery="d-9"))
    stock_again = woo(PRODUCT_BODY, woo_headers(PRODUCT_BODY, "product.updated", delivery="d-9"))
    [level] = stock.events
    assert (level.flow, level.refs, level.quantity) == ("stock", {"sku": "ABC-1"}, 9)
    assert stock_again.events[0].id == level.id


def test_ping_is_recognised_without_signature() -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "WooCommerce"}
    assert is_woocommerce_ping(headers, b"webhook_id=12")
    result = woo(b"webhook_id=12", headers)
    assert result.is_ping
    assert result.events == []
    assert not is_woocommerce_ping({**headers, "X-WC-Webhook-ID": "12"}, b"webhook_id=12")
    assert not is_woocommerce_ping(headers, b"webhook_id=12&x=1")
    assert not is_woocommerce_ping(headers, ORDER_BODY)


def test_other_topics_and_bad_bodies() -> None:
    ignored = woo(b'{"id": 3}', woo_headers(b'{"id": 3}', "customer.created"))
    assert ignored.events == []
    deleted = woo(b'{"id": 4505}', woo_headers(b'{"id": 4505}', "order.deleted"))
    assert deleted.events == []
    with pytest.raises(PayloadError):
        woo(b"{not json", woo_headers(b"{not json"))
    nameless = b'{"status": "processing"}'
    with pytest.raises(PayloadError, match="no number"):
        woo(nameless, woo_headers(nameless))


def test_a_byte_order_mark_is_allowed_and_deep_nesting_is_a_payload_error() -> None:
    marked = b"\xef\xbb\xbf" + ORDER_BODY
    assert (
        woo(marked, woo_headers(marked)).events == woo(ORDER_BODY, woo_headers(ORDER_BODY)).events
    )
    deep = b"[" * 5000 + b"]" * 5000
    with pytest.raises(PayloadError, match="body is not JSON"):
        woo(deep, woo_headers(deep))


STD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-secret-bytes").decode()


def std(
    body: bytes,
    *,
    msg_id: str = "msg_2Lb9x",
    sent: int | None = None,
    secret: str = STD_SECRET,
    signature: str | None = None,
) -> WebhookResult:
    stamp = int(NOW.timestamp()) if sent is None else sent
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": signature or sign_standard_webhook(secret, msg_id, stamp, body),
    }
    return parse_webhook(
        "generic", system_id="middleware", headers=headers, body=body, secret=STD_SECRET, now=NOW
    )


def test_standard_webhook_single_event_and_batch() -> None:
    single = (FIXTURES / "standard_webhooks" / "event.json").read_bytes()
    [event] = std(single).events
    assert event.id == "mw-oms-erp-7789-1"
    assert event.outcome is not None
    assert event.outcome.status == 503

    batch = (FIXTURES / "standard_webhooks" / "events.json").read_bytes()
    result = std(batch, msg_id="msg_7")
    assert result.delivery_id == "msg_7"
    assert [e.id for e in result.events] == ["mw-oms-erp-7788-1", "middleware:webhook:msg_7:1"]
    assert result.events[1].system == "middleware"
    # A redelivery (same webhook-id) names its events the same: duplicates.
    assert [e.id for e in std(batch, msg_id="msg_7").events] == [e.id for e in result.events]


def test_standard_webhook_signatures() -> None:
    body = (FIXTURES / "standard_webhooks" / "event.json").read_bytes()
    stamp = int(NOW.timestamp())
    good = sign_standard_webhook(STD_SECRET, "msg_1", stamp, body)
    assert len(std(body, msg_id="msg_1", signature=f"v1,bm9wZQ== {good}").events) == 1
    with pytest.raises(SignatureError, match="does not match"):
        std(body, msg_id="msg_1", signature="v1,bm9wZQ==")
    with pytest.raises(SignatureError, match="does not match"):
        std(body, secret="whsec_" + base64.b64encode(b"other").decode())
    with pytest.raises(SignatureError, match="required"):
        parse_webhook("generic", system_id="m", headers={}, body=body, secret=STD_SECRET, now=NOW)
    plain = parse_webhook(
        "generic",
        system_id="middleware",
        headers={
            "Webhook-Id": "msg_p",
            "Webhook-Timestamp": str(stamp),
            "Webhook-Signature": sign_standard_webhook("plain", "msg_p", stamp, body),
        },
        body=body,
        secret="plain",
        now=NOW,
    )
    assert len(plain.events) == 1


def test_standard_webhook_tolerance_is_five_minutes() -> None:
    body = (FIXTURES / "standard_webhooks" / "event.json").read_bytes()
    now = int(NOW.timestamp())
    assert std(body, sent=now - 299).events
    assert std(body, sent=now + 299).events
    with pytest.raises(SignatureError, match="5 minutes"):
        std(body, sent=now - int(timedelta(minutes=5, seconds=1).total_seconds()))
    with pytest.raises(SignatureError, match="5 minutes"):
        std(body, sent=now + 301)


def test_standard_webhook_payload_errors() -> None:
    with pytest.raises(PayloadError):
        std(b"[1, 2]")
    bad = json.dumps({"events": [{"flow": "order", "kind": "seen", "refs": {}}, {"system": "x"}]})
    with pytest.raises(PayloadError) as caught:
        std(bad.encode())
    assert any(e.startswith("events[0].") for e in caught.value.errors)
    assert any("events[1].system" in e for e in caught.value.errors)


@pytest.mark.parametrize("kind", ["magento", "odoo", "baselinker"])
def test_kinds_without_webhooks_are_refused(kind: str) -> None:
    with pytest.raises(UnsupportedWebhookKind, match=kind):
        parse_webhook(kind, system_id="s", headers={}, body=b"{}", secret="x", now=NOW)
