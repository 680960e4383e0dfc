from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.deps import RuntimeDep, WorkspacePath
from app.exceptions import Invalid, NotFound, Throttled, Unauthenticated
from app.webhooks.fast import INLINE_BYTES
from app.webhooks.service import (
    Delivery,
    Receiver,
    accept_delivery,
    cached_receiver,
    delivery_id,
    forget_receiver,
    load_receiver,
    parse,
)
from connectors.webhooks import PayloadError, SignatureError, UnsupportedWebhookKind, WebhookResult

router = APIRouter(tags=["webhooks"])


class Refused(Unauthenticated):
    """The one answer to every webhook that is not accepted before its payload is read: a
    caller without the secret learns nothing about which workspaces, systems and kinds exist."""

    challenge = None

    def __init__(self) -> None:
        super().__init__("webhook refused: no receiver here, or its signature does not verify")


@router.post(
    "/webhooks/{ws}/{system}",
    responses={
        200: {
            "description": "Stored with its events (or a redelivery, or a ping); `dropped` "
            "lists the events the topology cannot take, with why"
        },
        401: {
            "description": "No such workspace, system or connection, no webhooks from its "
            "kind, or a missing or bad signature: one answer for all, nothing stored"
        },
        422: {"description": "Signed, but not a payload of that system's format"},
    },
)
async def receive(
    ws: WorkspacePath, system: str, request: Request, runtime: RuntimeDep
) -> JSONResponse:
    """A webhook in the wire format of the system's kind, verified with its secret."""
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    receiver = cached_receiver(runtime, ws, system)
    for _attempt in range(3):
        if receiver is None:
            try:
                receiver = await run_in_threadpool(load_receiver, runtime, ws, system)
            except NotFound as exc:
                raise Refused() from exc
        result = await _verified(receiver, headers, body)
        if result.is_ping:
            return JSONResponse({"status": "ok", "ping": True})
        delivery = Delivery(receiver, delivery_id(result, body), headers, body, result.events)
        processed = await accept_delivery(runtime, delivery)
        if not processed.stale:
            break
        # The secret or topology changed since this receiver was built: verify again.
        forget_receiver(runtime, ws, system)
        receiver = None
    else:
        raise Throttled("the receiver is being reconfigured: deliver again", retry_after=1)
    return JSONResponse(processed.answer(delivery))


async def _verified(receiver: Receiver, headers: dict[str, str], body: bytes) -> WebhookResult:
    """Verify and parse (a small body on the event loop, see INLINE_BYTES), or the one refusal
    (401) or 422."""
    try:
        if len(body) <= INLINE_BYTES:
            return parse(receiver.target, headers, body, datetime.now(UTC))
        return await run_in_threadpool(parse, receiver.target, headers, body, datetime.now(UTC))
    except (SignatureError, UnsupportedWebhookKind) as exc:
        raise Refused() from exc
    except PayloadError as exc:
        raise Invalid.one(["body"], str(exc)) from exc
    except RecursionError as exc:  # signed, but nested deeper than any parser goes
        raise Invalid.one(["body"], "invalid JSON: nested too deeply") from exc
