"""The webhook receiver's fast path: a verified delivery answered without the framework.

A burst of webhooks (a sale, a bulk edit in the shop) is many small deliveries at once, and the
sender counts slow answers as failures. Through the whole stack (seven middlewares, FastAPI's
routing over every route of the service, its dependency solving) a delivery cost the event loop
about five times what a bare endpoint costs (bench/README.md). So this ASGI app, in front of
the whole application (``app.main.Arbiter``: before FastAPI's and Starlette's own outer layers
too), answers the one common case itself:

    a POST to ``/webhooks/{ws}/{system}`` whose receiver was built for an earlier delivery, with a
    small body that verifies with its secret and parses: stored with its events through the
    group commit (:func:`app.webhooks.service.accept_delivery`), answered 200 once durable.

Everything else (no receiver built yet, a bad signature, a payload that does not parse, a ping,
a large body, a NUL in the query, a receiver changed since it was built, self-tracing on) goes
on to the route in ``views.py`` unchanged, with the body it has already read: every refusal
and error answer keeps coming from one place. So does a delivery whose storing failed here
(the store unreachable, the service stopping: nothing of it was committed): the route tries
it again and answers what it meets. The request is still counted in the HTTP metrics.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.middleware import nul_location
from app.runtime import Runtime
from app.telemetry import metrics
from app.webhooks.service import Receiver, cached_receiver, deliver, verify

log = logging.getLogger("arbiter.webhooks")

ROUTE = "/webhooks/{ws}/{system}"
PREFIX = "/webhooks/"

INLINE_BYTES = 16_384
"""Bodies up to this size are verified and parsed on the event loop (an HMAC and a parse of a
few kilobytes take tens of microseconds, less than a hand-off to a thread); larger ones go to
the route, which does both in a thread."""

_JSON = [(b"content-type", b"application/json")]


class WebhookFastPath:
    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        settings = runtime.settings
        # With self-tracing on, each request gets its span from the full stack.
        self.enabled = not (settings.otlp.self_tracing and settings.otlp.export_endpoint)
        self.max_bytes = min(settings.max_body_bytes, INLINE_BYTES)
        self.record = metrics.http_recorder("POST", ROUTE, 200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            not self.enabled
            or scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        parts = scope["path"][len(PREFIX) :].split("/")
        receiver = cached_receiver(self.runtime, *parts) if len(parts) == 2 else None
        if receiver is None or nul_location(scope) is not None:
            await self.app(scope, receive, send)
            return
        body, complete = await _read(receive, self.max_bytes)
        answer = await self._accept(receiver, scope, body) if complete else None
        if answer is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        content = json.dumps(answer).encode()
        length = (b"content-length", str(len(content)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [*_JSON, length]})
        await send({"type": "http.response.body", "body": content})
        self.record(time.perf_counter() - started)

    async def _accept(self, receiver: Receiver, scope: Scope, body: bytes) -> dict[str, Any] | None:
        """The answer to a delivery stored here, or None: the route answers it."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            delivery = verify(self.runtime, receiver, headers, body)
        except Exception:  # refused or invalid: the route answers, in its words
            return None
        if delivery is None:  # a ping
            return None
        try:
            # None when the receiver changed since it was built: the route reads it again.
            return await deliver(self.runtime, delivery)
        except Exception:  # not stored: the route tries again and answers what it meets
            log.warning("a webhook delivery's fast path failed; the route takes it", exc_info=True)
            return None


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    """The body, and whether it is all of it: reading stops past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > limit:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """``receive`` with what was already read given back first."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": not complete}

    return replayed
