"""The OTLP/HTTP wire formats of ``POST /v1/traces``: protobuf and JSON, gzip, answers.

OTLP's JSON is protobuf's JSON mapping with one twist: trace and span ids are hex strings, not
base64. Some exporters send base64 anyway, so an id is read as hex when it is hex of the right
length and as base64 otherwise; an id that is neither is left empty and its span rejected.

    OtlpError            status + message, answered as google.rpc.Status in the request's encoding
     ├── BadRequest      400: undecodable body, unknown encoding
     ├── Unsupported     415: a content type that is neither protobuf nor JSON
     └── PayloadTooLarge 413: over the size limit, as sent or once decompressed
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any, Literal

from google.protobuf import json_format  # type: ignore[import-untyped]
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

Encoding = Literal["protobuf", "json"]

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# google.rpc.Code values, as OTLP asks for in its error answers.
_INVALID_ARGUMENT = 3
_UNAUTHENTICATED = 16
_PERMISSION_DENIED = 7
_NOT_FOUND = 5
_FAILED_PRECONDITION = 9
_RESOURCE_EXHAUSTED = 8
_INTERNAL = 13

_RPC_CODES = {
    400: _INVALID_ARGUMENT,
    401: _UNAUTHENTICATED,
    403: _PERMISSION_DENIED,
    404: _NOT_FOUND,
    409: _FAILED_PRECONDITION,
    413: _RESOURCE_EXHAUSTED,
    415: _INVALID_ARGUMENT,
    422: _INVALID_ARGUMENT,
}


class OtlpError(Exception):
    status_code = 400

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class BadRequest(OtlpError):
    status_code = 400


class Unsupported(OtlpError):
    status_code = 415


class PayloadTooLarge(OtlpError):
    status_code = 413


def encoding_of(content_type: str) -> Encoding:
    """The encoding a Content-Type names; protobuf when none is given (OTLP's default)."""
    media = content_type.split(";")[0].strip().lower()
    if media in ("", PROTOBUF, "application/protobuf", "application/octet-stream"):
        return "protobuf"
    if media == JSON or media.endswith("+json"):
        return "json"
    raise Unsupported(f"Content-Type '{media}' is neither {PROTOBUF} nor {JSON}")


def decompress(body: bytes, content_encoding: str, limit: int) -> bytes:
    """The body without its Content-Encoding (gzip, deflate or none), at most ``limit`` bytes."""
    coding = content_encoding.strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "x-gzip", "deflate"):
        raise Unsupported(f"Content-Encoding '{coding}' is not supported (gzip, deflate)")
    # wbits 47 takes gzip or zlib headers alike; raw deflate needs -15.
    wbits = 47 if coding != "deflate" or body[:1] == b"\x78" else -15
    decoder = zlib.decompressobj(wbits)
    try:
        # Never inflate past the limit: a small gzip bomb must not fill the memory.
        out = decoder.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadRequest(f"body is not valid {coding}: {exc}") from exc
    if len(out) > limit:
        raise PayloadTooLarge(f"decompressed body over the limit of {limit} bytes")
    if not decoder.eof:
        raise BadRequest(f"body is truncated {coding}")
    return out


def decode_request(body: bytes, encoding: Encoding) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if encoding == "protobuf":
        try:
            request.ParseFromString(body)
        except DecodeError as exc:
            raise BadRequest(f"body is not an OTLP ExportTraceServiceRequest: {exc}") from exc
        return request
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    except RecursionError as exc:
        raise BadRequest("invalid JSON: nested too deeply") from exc
    if not isinstance(document, dict):
        raise BadRequest("expected a JSON object with resourceSpans")
    try:
        _ids_to_base64(document)
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise BadRequest(f"not an OTLP ExportTraceServiceRequest: {exc}") from exc
    except RecursionError as exc:  # valid JSON, deeper than any OTLP message nests
        raise BadRequest("not an OTLP ExportTraceServiceRequest: nested too deeply") from exc
    return request


_ID_BYTES = {"traceId": 16, "trace_id": 16, "spanId": 8, "span_id": 8}
_PARENT_BYTES = {"parentSpanId": 8, "parent_span_id": 8}


def _ids_to_base64(document: dict[str, Any]) -> None:
    """Rewrite OTLP/JSON's hex ids to the base64 that protobuf's JSON parser expects."""
    for resource_spans in _dicts(document.get("resourceSpans", document.get("resource_spans"))):
        scopes = resource_spans.get("scopeSpans", resource_spans.get("scope_spans"))
        for scope_spans in _dicts(scopes):
            for span in _dicts(scope_spans.get("spans")):
                _fix_ids(span, {**_ID_BYTES, **_PARENT_BYTES})
                for link in _dicts(span.get("links")):
                    _fix_ids(link, _ID_BYTES)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _fix_ids(holder: dict[str, Any], sizes: dict[str, int]) -> None:
    for key, size in sizes.items():
        if key not in holder:
            continue
        raw = holder[key]
        decoded = id_bytes(raw, size) if isinstance(raw, str) else None
        if decoded is None:
            del holder[key]  # an empty id: the span is then rejected with a clear reason
        else:
            holder[key] = base64.b64encode(decoded).decode()


def id_bytes(text: str, size: int) -> bytes | None:
    """An id of ``size`` bytes from its hex or (tolerated) base64 spelling; None when neither.

    >>> id_bytes("5b8efff798038103d269b633813fc60c", 16).hex()
    '5b8efff798038103d269b633813fc60c'
    >>> id_bytes("W47/95gDgQPSabYzgT/GDA==", 16).hex()
    '5b8efff798038103d269b633813fc60c'
    >>> id_bytes("", 8) == b""
    True
    >>> id_bytes("nope", 8) is None
    True
    """
    text = text.strip()
    if not text:
        return b""
    if len(text) == 2 * size:
        try:
            return bytes.fromhex(text)
        except ValueError:
            pass
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), altchars=_altchars(text))
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == size else None


def _altchars(text: str) -> bytes | None:
    return b"-_" if ("-" in text or "_" in text) else None


def encode_response(encoding: Encoding, rejected: int, message: str) -> bytes:
    """The ExportTraceServiceResponse: partial_success only when a span was rejected."""
    response = ExportTraceServiceResponse()
    if rejected:
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
    if encoding == "protobuf":
        data: bytes = response.SerializeToString()
        return data
    return json.dumps(json_format.MessageToDict(response)).encode()


def encode_error(encoding: Encoding, status_code: int, message: str) -> bytes:
    """A google.rpc.Status, as OTLP/HTTP answers failures (JSON also carries ``detail``)."""
    code = _RPC_CODES.get(status_code, _INTERNAL)
    if encoding == "protobuf":
        data: bytes = status_pb2.Status(code=code, message=message).SerializeToString()
        return data
    return json.dumps({"code": code, "message": message, "detail": message}).encode()


def media_type(encoding: Encoding) -> str:
    return PROTOBUF if encoding == "protobuf" else JSON
