"""WooCommerce's webhooks: one per topic, signed deliveries, disabled after repeated failures.

Each delivery is a POST of the resource's REST representation with the ``X-WC-Webhook-*``
headers; ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw body keyed with the
webhook's secret. WooCommerce does not retry a failed delivery; it counts consecutive failures
and sets the webhook to ``disabled`` once they reach the limit. Saving a webhook sends a ping:
a form post ``webhook_id=<id>`` without the ``X-WC-*`` headers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import httpx

from sandbox import timefmt
from sandbox.stores import WooOrder, WooProduct

log = logging.getLogger("sandbox.webhooks")

TOPICS = ("order.created", "order.updated", "product.updated")
USER_AGENT = "WooCommerce/9.4.0 Hookshot (WordPress/6.7.1)"


def signature(body: bytes, secret: str) -> str:
    """``X-WC-Webhook-Signature`` of a raw body.

    >>> signature(b'{"id":1}', "s3cret")
    'Y92rNNpYOOODVF6ckLQPdKTj2qvF3ZqNSaUYda1LJBg='
    """
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class WooWebhook:
    id: int
    topic: str
    delivery_url: str
    secret: str
    status: str = "active"
    failure_count: int = 0
    date_created: datetime = field(default_factory=timefmt.now)

    @property
    def resource(self) -> str:
        return self.topic.split(".")[0]

    @property
    def event(self) -> str:
        return self.topic.split(".")[1]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": f"Arbiter {self.topic}",
            "status": self.status,
            "topic": self.topic,
            "resource": self.resource,
            "event": self.event,
            "hooks": [f"woocommerce_{self.resource}_{self.event}"],
            "delivery_url": self.delivery_url,
            "date_created": timefmt.woo(self.date_created),
            "date_created_gmt": timefmt.woo(self.date_created),
        }


@dataclass
class Delivery:
    delivery_id: int
    webhook_id: int
    topic: str
    resource_id: int
    status: int | None
    error: str | None
    time: datetime

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "time": timefmt.iso_z(self.time)}


class WooWebhooks:
    def __init__(
        self,
        *,
        delivery_url: str,
        secret: str,
        source: Callable[[], str],
        render: Callable[[WooOrder | WooProduct], dict[str, Any]],
        max_failures: int = 7,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.hooks = [
            WooWebhook(i, topic, delivery_url, secret) for i, topic in enumerate(TOPICS, start=1)
        ]
        self._source = source
        self._render = render
        self._max_failures = max_failures
        self._timeout = timeout
        self._client = client
        self._queue: asyncio.Queue[tuple[WooWebhook, int, bytes]] = asyncio.Queue()
        self._delivery_seq = 0
        self.deliveries: deque[Delivery] = deque(maxlen=200)

    def on_change(self, topic: str, resource: WooOrder | WooProduct) -> None:
        """A ``ShopStore`` listener: queue a delivery to every active webhook of the topic."""
        body: bytes | None = None
        for hook in self.hooks:
            if hook.topic != topic or hook.status != "active":
                continue
            if body is None:
                body = json.dumps(self._render(resource), separators=(",", ":")).encode()
            self._queue.put_nowait((hook, resource.id, body))

    def to_json(self) -> dict[str, Any]:
        return {
            "hooks": [{**h.to_json(), "failure_count": h.failure_count} for h in self.hooks],
            "queued": self._queue.qsize(),
            "recent_deliveries": [d.to_json() for d in list(self.deliveries)[-20:]],
        }

    async def ping(self) -> None:
        """What saving an active webhook does; its answer only informs the admin."""
        async with self._http() as client:
            for hook in self.hooks:
                try:
                    await client.post(
                        hook.delivery_url, data={"webhook_id": str(hook.id)}, timeout=self._timeout
                    )
                except httpx.HTTPError as exc:
                    log.info("webhook %s ping failed: %s", hook.id, exc)

    async def run(self) -> None:
        async with self._http() as client:
            while True:
                hook, resource_id, body = await self._queue.get()
                if hook.status == "active":
                    await self._deliver(client, hook, resource_id, body)

    @asynccontextmanager
    async def _http(self) -> AsyncIterator[httpx.AsyncClient]:
        if self._client is not None:
            yield self._client
            return
        async with httpx.AsyncClient(headers={"User-Agent": USER_AGENT}) as client:
            yield client

    async def _deliver(
        self, client: httpx.AsyncClient, hook: WooWebhook, resource_id: int, body: bytes
    ) -> None:
        self._delivery_seq += 1
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": self._source().rstrip("/") + "/",
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": hook.resource,
            "X-WC-Webhook-Event": hook.event,
            "X-WC-Webhook-Signature": signature(body, hook.secret),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": str(self._delivery_seq),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = await client.post(
                hook.delivery_url, content=body, headers=headers, timeout=self._timeout
            )
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.deliveries.append(
            Delivery(
                self._delivery_seq, hook.id, hook.topic, resource_id, status, error, timefmt.now()
            )
        )
        if error is None:
            hook.failure_count = 0
            return
        hook.failure_count += 1
        if hook.failure_count >= self._max_failures:
            hook.status = "disabled"
            log.warning(
                "webhook %s (%s) disabled after %d failed deliveries",
                hook.id,
                hook.topic,
                hook.failure_count,
            )
