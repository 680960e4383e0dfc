"""Errors the API answers with, and the handlers that turn every failure into a clear body.

    ApiError                 status + detail, raised by services and views
     ├── NotFound            404
     ├── Forbidden           403
     ├── Unauthorized        401 (with WWW-Authenticate)
     └── Invalid             422 with FastAPI-style [{"loc", "msg", "type"}] items

Any other exception is logged and answered 500 with no internals in the body.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("arbiter")


class ApiError(Exception):
    status_code = 400

    def __init__(self, detail: Any, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class NotFound(ApiError):
    status_code = 404


class Forbidden(ApiError):
    status_code = 403


class Unauthorized(ApiError):
    status_code = 401

    def __init__(self, detail: Any = "missing or invalid bearer token") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Conflict(ApiError):
    status_code = 409


class TooLarge(ApiError):
    status_code = 413


class Invalid(ApiError):
    """422 with one item per problem, in the shape FastAPI uses for request validation."""

    status_code = 422

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        super().__init__(list(items))

    @classmethod
    def one(cls, loc: Sequence[str | int], msg: str, type_: str = "value_error") -> Invalid:
        return cls([{"loc": list(loc), "msg": msg, "type": type_}])


def pydantic_items(errors: Sequence[Any], prefix: Sequence[str | int] = ()) -> list[dict[str, Any]]:
    """pydantic's errors as JSON-safe items (no echo of the input, which may be huge)."""
    return [
        {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in errors
    ]


class ErrorResponse(JSONResponse):
    """An error body that always encodes: a field name the client sent may hold a lone
    surrogate (valid in JSON escapes, not in UTF-8); it is answered as '?'."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
        ).encode("utf-8", "replace")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return ErrorResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return ErrorResponse({"detail": pydantic_items(exc.errors())}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return ErrorResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(DBAPIError)
    async def _store(request: Request, exc: DBAPIError) -> JSONResponse:
        # A NUL that a check upstream missed: PostgreSQL's text cannot hold it. The client's
        # input, not a fault of the service; every field known to reach the store is checked
        # earlier and named, this is the net under them.
        if "NUL (0x00)" in str(exc.orig):
            return ErrorResponse(
                {
                    "detail": [
                        {"loc": ["body"], "msg": "text must not contain NUL", "type": "value_error"}
                    ]
                },
                422,
            )
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error; it has been logged"}, 500)
