"""An Odoo ERP's external APIs: JSON-RPC (``POST /jsonrpc``) and JSON-2 (``POST /json/2/...``).

JSON-RPC: ``{"jsonrpc": "2.0", "method": "call", "params": {"service", "method", "args"}}``;
service ``common`` logs in (``login``/``authenticate`` answer the uid or ``false``), service
``object`` runs ``execute_kw`` with ``[db, uid, password, model, method, args, kwargs]``.
Errors come back as HTTP 200 with an ``error`` member (code 200, "Odoo Server Error", and
``data.name`` the exception's qualified name).

JSON-2: ``Authorization: bearer <api key>``, a JSON body of the method's keyword arguments
(``ids`` for record methods), the bare result as the answer; errors with an HTTP status and
``{"name", "message", "arguments", "context", "debug"}``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from starlette.middleware.base import RequestResponseEndpoint
from starlette.responses import JSONResponse, Response

from sandbox.gates import down_response, retry_after
from sandbox.odoo_orm import OdooError, access_denied
from sandbox.world import World

SERVER_VERSION = "19.0"
VERSION_INFO = [19, 0, 0, "final", 0, ""]


def _debug(error: OdooError) -> str:
    return (
        "Traceback (most recent call last):\n"
        '  File "/opt/odoo/odoo/service/model.py", line 156, in retrying\n'
        "    result = func()\n"
        f"{error.name}: {error.message}\n"
    )


def rpc_error(request_id: Any, error: OdooError) -> JSONResponse:
    return JSONResponse(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "error": {
                "code": 200,
                "message": "Odoo Server Error",
                "data": {
                    "name": error.name,
                    "debug": _debug(error),
                    "message": error.message,
                    "arguments": [error.message],
                    "context": {},
                },
            },
        }
    )


def json2_error(error: OdooError, status: int | None = None) -> JSONResponse:
    code = status or error.status
    arguments: list[Any] = (
        [error.message, code] if error.name.startswith("werkzeug") else [error.message]
    )
    body = {
        "name": error.name,
        "message": error.message,
        "arguments": arguments,
        "context": {},
        "debug": _debug(error),
    }
    return JSONResponse(body, status_code=code)


def create_odoo_app(world: World) -> FastAPI:
    app = FastAPI(title="Sandbox Odoo", openapi_url=None, docs_url=None, redoc_url=None)
    creds = world.config.odoo
    erp = world.erp

    @app.middleware("http")
    async def gate(request: Request, call_next: RequestResponseEndpoint) -> Response:
        fault = world.faults.strikes("down", "erp")
        if fault is not None:
            return await down_response(fault)
        fault = world.faults.strikes("throttle", "erp")
        if fault is not None:
            # Odoo's workers answer a burst with 429 and Retry-After
            return Response(
                "Too Many Requests", status_code=429, headers={"Retry-After": retry_after(fault)}
            )
        return await call_next(request)

    def revoked() -> bool:
        return world.faults.strikes("token_expired", "erp") is not None

    def check_db(db: Any) -> None:
        if db != creds.db:
            raise OdooError(
                "psycopg2.OperationalError",
                f'connection to server failed: FATAL:  database "{db}" does not exist',
                500,
            )

    def login(db: Any, user: Any, secret: Any) -> int | bool:
        check_db(db)
        if revoked() or user != creds.login or secret not in {creds.password, creds.api_key}:
            return False
        return creds.uid

    @app.get("/web/version")
    async def version() -> dict[str, Any]:
        return {"version_info": VERSION_INFO, "version": SERVER_VERSION}

    @app.post("/jsonrpc")
    async def jsonrpc(request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            return rpc_error(
                None, OdooError("werkzeug.exceptions.BadRequest", "Invalid JSON data", 400)
            )
        if not isinstance(payload, dict):
            return rpc_error(
                None, OdooError("werkzeug.exceptions.BadRequest", "Invalid JSON-RPC data", 400)
            )
        request_id = payload.get("id")
        params = payload.get("params") or {}
        try:
            result = _dispatch(
                str(params.get("service", "")),
                str(params.get("method", "")),
                list(params.get("args") or []),
            )
        except OdooError as error:
            return rpc_error(request_id, error)
        return JSONResponse({"jsonrpc": "2.0", "id": request_id, "result": result})

    def _dispatch(service: str, method: str, args: list[Any]) -> Any:
        if service == "common":
            if method == "version":
                return {
                    "server_version": SERVER_VERSION,
                    "server_version_info": VERSION_INFO,
                    "server_serie": SERVER_VERSION,
                    "protocol_version": 1,
                }
            if method in {"login", "authenticate"}:
                if len(args) < 3:
                    raise OdooError(
                        "builtins.TypeError",
                        f"{method}() missing required positional arguments",
                        422,
                    )
                return login(args[0], args[1], args[2])
        elif service == "db":
            if method == "list":
                return [creds.db]
            if method == "server_version":
                return SERVER_VERSION
        elif service == "object" and method in {"execute_kw", "execute"}:
            if len(args) < 5:
                raise OdooError(
                    "builtins.TypeError", f"{method}() missing required positional arguments", 422
                )
            db, uid, secret, model, model_method = args[:5]
            check_db(db)
            if revoked() or uid != creds.uid or secret not in {creds.password, creds.api_key}:
                raise access_denied()
            if method == "execute_kw":
                call_args = args[5] if len(args) > 5 else []
                call_kwargs = args[6] if len(args) > 6 else {}
            else:
                call_args, call_kwargs = list(args[5:]), {}
            if not isinstance(call_args, list) or not isinstance(call_kwargs, dict):
                raise OdooError(
                    "builtins.TypeError",
                    "execute_kw() args must be a list and kwargs an object",
                    422,
                )
            call_kwargs = {k: v for k, v in call_kwargs.items() if k != "context"}
            return erp.call(str(model), str(model_method), call_args, call_kwargs)
        raise OdooError("builtins.KeyError", f"Unknown service or method: {service}.{method}", 404)

    @app.post("/json/2/{model}/{method}")
    async def json2(model: str, method: str, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or key.strip() != creds.api_key or revoked():
            return json2_error(OdooError("werkzeug.exceptions.Unauthorized", "Invalid apikey", 401))
        database = request.headers.get("x-odoo-database")
        if database is not None and database != creds.db:
            return json2_error(
                OdooError("werkzeug.exceptions.NotFound", f"Database {database!r} not found", 404)
            )
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return json2_error(
                OdooError("werkzeug.exceptions.BadRequest", "Invalid JSON data", 400)
            )
        if not isinstance(body, dict):
            return json2_error(
                OdooError("werkzeug.exceptions.BadRequest", "The body must be a JSON object", 400)
            )
        body.pop("context", None)
        ids = body.pop("ids", None)
        args: list[Any] = []
        if method in erp.RECORD_METHODS:
            args = [ids or []]
        try:
            result = erp.call(model, method, args, body)
        except OdooError as error:
            return json2_error(error)
        return JSONResponse(result)

    return app
