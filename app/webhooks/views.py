from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.deps import RuntimeDep, WorkspacePath
from app.exceptions import Invalid, NotFound, Throttled, Unauthenticated
from app.runtime import Runtime
from app.webhooks.fast import INLINE_BYTES
from app.webhooks.service import Delivery, Receiver, cached_receiver, deliver, load_receiver, verify
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
    headers = {k.lower(): v for k, v in request.headers.items()}
    receiver = cached_receiver(runtime, ws, system)
    for _attempt in range(3):
        if receiver is None:
            try:
                receiver = await run_in_threadpool(load_receiver, runtime, ws, system)
            except NotFound as exc:
                raise Refused() from exc
        delivery = await _verified(runtime, receiver, headers, body)
        if delivery is None:
            return JSONResponse({"status": "ok", "ping": True})
        answer = await deliver(runtime, delivery)
        if answer is not None:
            return JSONResponse(answer)
        # The secret or topology changed since this receiver was built: verify again.
        receiver = None
    raise Throttled("the receiver is being reconfigured: deliver again", retry_after=1)


async def _verified(
    runtime: Runtime, receiver: Receiver, headers: dict[str, str], body: bytes
) -> Delivery | None:
    """The delivery verified, parsed and made ready to store (a small body on the event loop,
    see INLINE_BYTES), None for a ping; or the one refusal (401), or 422."""
    try:
        if len(body) <= INLINE_BYTES:
            return verify(runtime, receiver, headers, body)
        return await run_in_threadpool(verify, runtime, receiver, headers, body)
    except (SignatureError, UnsupportedWebhookKind) as exc:
        raise Refused() from exc
    except PayloadError as exc:  # nested too deeply too: the parser says so (connectors.webhooks)
        raise Invalid.one(["body"], str(exc)) from exc
