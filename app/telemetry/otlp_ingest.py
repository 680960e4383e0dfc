"""``POST /v1/traces``: OTLP/HTTP trace export from integration middleware → call events.

The workspace is the bearer token's (a workspace token) or, with the admin token, the one the
header ``X-Arbiter-Workspace`` names. Spans are turned into events by :mod:`app.telemetry.spans`
and stored through the same validation and store path as ``POST .../events``; spans that cannot
be used are counted in ``partial_success``. Every answer is in the request's encoding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.deps import WORKSPACE_PATTERN, RuntimeDep, authenticated
from app.errors import answer
from app.events.service import storing, validate_batch
from app.exceptions import ArbiterError, Forbidden, NoTopology
from app.runtime import Runtime
from app.telemetry import metrics
from app.telemetry.otlp_codec import (
    BadRequest,
    Encoding,
    OtlpError,
    PayloadTooLarge,
    decode_request,
    decompress,
    encode_error,
    encode_response,
    encoding_of,
    media_type,
)
from app.telemetry.spans import SpanRules, convert
from app.topology.service import get_topology
from app.workspaces.service import require_workspace
from graph.model import Event

WORKSPACE_HEADER = "X-Arbiter-Workspace"

router = APIRouter(tags=["opentelemetry"])

_bearer = HTTPBearer(auto_error=False, description="A workspace token, or the admin token.")

_BODY = {
    "required": True,
    "content": {
        "application/x-protobuf": {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest",
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "description": "ExportTraceServiceRequest in OTLP/JSON (hex ids; base64 tolerated)",
            }
        },
    },
}


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    rejected: int
    message: str
    stored: list[tuple[int, Event]]


@router.post(
    "/v1/traces",
    response_class=Response,
    openapi_extra={"requestBody": _BODY},
    responses={
        200: {
            "description": "ExportTraceServiceResponse, in the request's encoding; "
            "partial_success counts the spans that could not be used, and why",
            "content": {"application/x-protobuf": {}, "application/json": {}},
        },
        400: {"description": "Undecodable body, or the admin token without X-Arbiter-Workspace"},
        401: {"description": "Missing or invalid bearer token"},
        403: {"description": "X-Arbiter-Workspace names another workspace than the token's"},
        404: {"description": "The workspace does not exist"},
        409: {"description": "The workspace has no topology yet"},
        413: {"description": "Body over the limit, as sent or once decompressed"},
        415: {"description": "Content-Type or Content-Encoding not supported"},
    },
)
async def export_traces(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    workspace: Annotated[
        str | None,
        Header(
            alias=WORKSPACE_HEADER,
            description="The workspace to store into; needed with the admin token only.",
        ),
    ] = None,
) -> Response:
    """Turn the CLIENT spans of integration middleware into `call` events of a workspace."""
    try:
        encoding = encoding_of(request.headers.get("content-type", ""))
    except OtlpError as exc:
        return _error("json", exc.status_code, exc.message)
    try:
        ws = await run_in_threadpool(_workspace, request, runtime, credentials, workspace)
        limit = runtime.settings.otlp.ingest_max_body_bytes
        body = await _read_body(request, limit)
        body = decompress(body, request.headers.get("content-encoding", ""), limit)
        decoded = decode_request(body, encoding)
        result = await run_in_threadpool(_ingest, runtime, ws, decoded)
        # On the event loop, like the events API: listeners may schedule work there.
        runtime.events_stored(ws, result.stored)
    except OtlpError as exc:  # the OTLP wire itself: encoding, size, compression
        return _error(encoding, exc.status_code, exc.message)
    except ArbiterError as exc:
        status, _detail, headers = answer(exc)
        return _error(encoding, status, str(exc), headers)
    return Response(
        encode_response(encoding, result.rejected, result.message),
        200,
        media_type=media_type(encoding),
    )


def _workspace(
    request: Request,
    runtime: Runtime,
    credentials: HTTPAuthorizationCredentials | None,
    named: str | None,
) -> str:
    principal = authenticated(request, runtime, credentials)
    if named is not None and not re.fullmatch(WORKSPACE_PATTERN, named):
        raise BadRequest(f"{WORKSPACE_HEADER} '{named[:80]}' is not a workspace id")
    if principal.workspace_id is not None:
        if named is not None and named != principal.workspace_id:
            raise Forbidden(f"this token belongs to another workspace than '{named}'")
        return principal.workspace_id
    if named is None:
        raise BadRequest(
            f"the admin token needs the header {WORKSPACE_HEADER} naming the workspace "
            "(or send a workspace token instead)"
        )
    return named


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _ingest(runtime: Runtime, ws: str, decoded: Any) -> IngestResult:
    with runtime.engine.connect() as connection:
        require_workspace(connection, ws)
        topology = get_topology(connection, ws)
    if topology is None:
        raise NoTopology(ws, before="sending spans")
    conversion = convert(decoded, topology, SpanRules.from_settings(runtime.settings))
    # One validation and one transaction for the whole request, however many spans: stored
    # whole or not at all (a bad last span must not leave the first ones committed).
    batch = validate_batch([event.to_json() for event in conversion.events], topology)
    result = runtime.writer.run(storing(ws, batch)) if batch else None
    accepted = result.accepted if result else 0
    duplicates = result.duplicates if result else 0
    metrics.record_ingest(ws, "otlp", accepted=accepted, duplicates=duplicates)
    metrics.record_rejected(ws, "otlp", conversion.rejected_count)
    return IngestResult(
        accepted,
        duplicates,
        conversion.rejected_count,
        conversion.message(),
        result.stored if result else [],
    )


def _error(
    encoding: Encoding, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        encode_error(encoding, status, message),
        status,
        media_type=media_type(encoding),
        headers=headers,
    )
