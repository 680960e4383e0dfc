"""What a system that is down answers, whoever its vendor: a proxy's 503, or nothing at all."""

from __future__ import annotations

import asyncio

from starlette.responses import PlainTextResponse, Response

from sandbox.faults import Fault

DEFAULT_HANG_SECONDS = 60.0


async def down_response(fault: Fault) -> Response:
    if fault.param("mode") == "hang":
        # answer nothing: the caller's timeout fires first
        await asyncio.sleep(float(fault.param("hang_seconds") or DEFAULT_HANG_SECONDS))
        return PlainTextResponse("Gateway Timeout", status_code=504)
    return PlainTextResponse(
        "<html><head><title>503 Service Unavailable</title></head><body>"
        "<h1>Service Unavailable</h1></body></html>",
        status_code=503,
        media_type="text/html",
    )


def retry_after(fault: Fault) -> str:
    return str(int(float(fault.param("retry_after") or 30)))
