from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.deps import RuntimeDep, WorkspacePath
from app.exceptions import Invalid, NotFound, Unauthenticated
from app.webhooks.service import accept_delivery, delivery_id, load_receiver, parse
from connectors.webhooks import PayloadError, SignatureError, UnsupportedWebhookKind

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

    try:
        target = await run_in_threadpool(load_receiver, runtime, ws, system)
    except NotFound as exc:
        raise Refused() from exc
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        # Off the event loop: an HMAC and a JSON parse of a large order take milliseconds.
        result = await run_in_threadpool(parse, target, headers, body, datetime.now(UTC))
    except (SignatureError, UnsupportedWebhookKind) as exc:
        raise Refused() from exc
    except PayloadError as exc:
        raise Invalid.one(["body"], str(exc)) from exc
    except RecursionError as exc:  # signed, but nested deeper than any parser goes
        raise Invalid.one(["body"], "invalid JSON: nested too deeply") from exc
    if result.is_ping:
        return JSONResponse({"status": "ok", "ping": True})
    delivery = delivery_id(result, body)

    processed = await accept_delivery(runtime, target, delivery, headers, body, list(result.events))
    answer: dict[str, Any] = {
        "status": "ok",
        "delivery_id": delivery,
        "duplicate": processed.seq is None,
    }
    if processed.dropped:
        answer["dropped"] = processed.dropped
    return JSONResponse(answer)
