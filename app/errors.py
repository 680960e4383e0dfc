"""The one place where a refusal of the domain becomes an HTTP answer, and every other
failure a clear body.

Services raise the exceptions of ``app.exceptions`` (their tree is drawn there); ``install``
answers each with its status and ``{"detail": ...}``:

    ArbiterError                  400
     ├── NotFound                 404  (WorkspaceNotFound)
     ├── Conflict                 409  (NoTopology)
     ├── Invalid                  422  detail: FastAPI-style [{"loc", "msg", "type"}] items
     ├── TooLarge                 413
     ├── Forbidden                403
     ├── Unauthenticated          401  with WWW-Authenticate when it names a challenge
     └── Throttled                429  with Retry-After

A request FastAPI cannot validate is 422 in the same shape; any other exception is logged
and answered 500 with no internals in the body.

>>> answer(NotFound("no such check"))
Answer(status=404, detail='no such check', headers=None)
>>> answer(Throttled("slow down", retry_after=7)).headers
{'Retry-After': '7'}
"""

from __future__ import annotations

import json
import logging
from typing import Any, NamedTuple

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.exceptions import (
    ArbiterError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    Throttled,
    TooLarge,
    Unauthenticated,
    pydantic_problems,
)

log = logging.getLogger("arbiter")

STATUS: dict[type[ArbiterError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    TooLarge: 413,
    Forbidden: 403,
    Unauthenticated: 401,
    Throttled: 429,
}


class Answer(NamedTuple):
    status: int
    detail: Any
    headers: dict[str, str] | None


def answer(exc: ArbiterError) -> Answer:
    """The status, detail and headers that answer ``exc`` (its nearest class in STATUS)."""
    status = next((STATUS[cls] for cls in type(exc).__mro__ if cls in STATUS), 400)
    detail: Any = exc.problems if isinstance(exc, Invalid) else str(exc)
    headers = None
    if isinstance(exc, Unauthenticated) and exc.challenge is not None:
        headers = {"WWW-Authenticate": exc.challenge}
    elif isinstance(exc, Throttled):
        headers = {"Retry-After": str(exc.retry_after)}
    return Answer(status, detail, headers)


class ErrorResponse(JSONResponse):
    """An error body that always encodes: a field name the client sent may hold a lone
    surrogate (valid in JSON escapes, not in UTF-8); it is answered as '?'."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str
        ).encode("utf-8", "replace")


def install(app: FastAPI) -> None:
    @app.exception_handler(ArbiterError)
    async def _refused(_request: Request, exc: ArbiterError) -> JSONResponse:
        status, detail, headers = answer(exc)
        return ErrorResponse({"detail": detail}, status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return ErrorResponse({"detail": pydantic_problems(exc.errors())}, 422)

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
