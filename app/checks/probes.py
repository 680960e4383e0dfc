"""The checks themselves: one network conversation each, every one through the egress policy.

HTTP goes through the caller's client (built on :class:`connectors.http.EgressTransport`); the
TLS and SMTP conversations are raw sockets, so they resolve the host here and connect only to
an address :func:`connectors.http.egress_refusal` permits, as that transport does. A check
never raises for what the checked server did: every failure is a :class:`Result` to store.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
from cryptography import x509

from app.checks.models import DEFAULT_PORTS, CheckIn, Result
from connectors.http import EgressMode, egress_refusal

Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_PAGE_BYTES = 2_000_000
"""A page is searched for its expected text within this much of its body."""


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class Refused(Exception):
    """Nothing was sent: the host does not resolve, or the policy permits none of its
    addresses."""


async def permitted_address(host: str, port: int, mode: EgressMode, resolve: Resolver) -> str:
    try:
        addresses = await resolve(host, port)
    except OSError as exc:
        raise Refused(f"cannot resolve {host}: {exc}") from exc
    for address in addresses:
        if egress_refusal(address, mode) is None:
            return address
    reason = egress_refusal(addresses[0], mode) if addresses else "no address"
    raise Refused(f"{host}: {reason}")


def _elapsed(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)


async def run_probe(
    check: CheckIn,
    *,
    client: httpx.AsyncClient,
    mode: EgressMode,
    resolve: Resolver = system_resolve,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Result:
    """Run ``check`` once; its outcome, never an exception for what the server did."""
    at = now()
    start = time.monotonic()
    try:
        async with asyncio.timeout(check.timeout_seconds):
            if check.kind == "http":
                return await _http(check, client, at, start)
            if check.kind == "dns":
                return await _dns(check, resolve, at, start)
            host, port = check.host or "", check.port or DEFAULT_PORTS[check.kind]
            address = await permitted_address(host, port, mode, resolve)
            if check.kind == "tls":
                return await _tls(check, host, address, port, at, start, now)
            return await _smtp(host, address, port, at, start)
    except TimeoutError:
        error = f"no answer within {check.timeout_seconds:g} s"
    except Refused as exc:
        error = str(exc)
    except (OSError, ssl.SSLError, httpx.HTTPError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    return Result(at=at, ok=False, status=None, duration_ms=_elapsed(start), error=error)


async def _http(check: CheckIn, client: httpx.AsyncClient, at: datetime, start: float) -> Result:
    assert check.url is not None
    async with client.stream(
        "GET", check.url, follow_redirects=True, timeout=check.timeout_seconds
    ) as response:
        body = b""
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) >= MAX_PAGE_BYTES:
                break
    duration = _elapsed(start)
    error: str | None = None
    if not response.is_success:
        error = f"{check.page} page answered {response.status_code}"
    elif check.expect_text is not None:
        text = body.decode(response.encoding or "utf-8", errors="replace")
        if check.expect_text not in text:
            # A 200 without what the page must show (an error page, an empty cart) fails too.
            error = f"{check.page} page does not show {check.expect_text!r}"
    return Result(
        at=at,
        ok=error is None,
        status=response.status_code,
        duration_ms=duration,
        error=error,
        details={"url": str(response.url)},
    )


async def _dns(check: CheckIn, resolve: Resolver, at: datetime, start: float) -> Result:
    host = check.host or ""
    try:
        addresses = await resolve(host, 0)
    except OSError as exc:
        return Result(
            at=at,
            ok=False,
            status=None,
            duration_ms=_elapsed(start),
            error=f"{host} does not resolve: {exc}",
        )
    ok = bool(addresses)
    return Result(
        at=at,
        ok=ok,
        status=200 if ok else None,
        duration_ms=_elapsed(start),
        error=None if ok else f"{host} resolves to no address",
        details={"addresses": addresses[:10]},
    )


async def _tls(
    check: CheckIn,
    host: str,
    address: str,
    port: int,
    at: datetime,
    start: float,
    now: Callable[[], datetime],
) -> Result:
    context = ssl.create_default_context()
    if not check.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    _reader, writer = await asyncio.open_connection(
        address, port, ssl=context, server_hostname=host
    )
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    finally:
        writer.close()
    if der is None:
        return Result(
            at=at, ok=False, status=None, duration_ms=_elapsed(start), error="no certificate"
        )
    expires = x509.load_der_x509_certificate(der).not_valid_after_utc
    days_left = round((expires - now()).total_seconds() / 86400, 2)
    expired = days_left <= 0
    return Result(
        at=at,
        ok=not expired,
        status=503 if expired else 200,
        duration_ms=_elapsed(start),
        error=f"the certificate of {host} expired on {expires:%Y-%m-%d}" if expired else None,
        details={"expires_at": expires.isoformat(), "days_left": days_left},
    )


async def _smtp(host: str, address: str, port: int, at: datetime, start: float) -> Result:
    reader, writer = await asyncio.open_connection(address, port)
    try:
        lines: list[str] = []
        while True:  # a greeting may span lines: "220-..." continues, "220 ..." ends it
            line = (await reader.readline()).decode("ascii", errors="replace").rstrip("\r\n")
            lines.append(line)
            if not line or len(line) < 4 or line[3] != "-" or len(lines) >= 20:
                break
        writer.write(b"QUIT\r\n")
    finally:
        writer.close()
    greeting = " / ".join(lines)[:500]
    ok = greeting.startswith("220")
    return Result(
        at=at,
        ok=ok,
        status=200 if ok else (503 if greeting else None),
        duration_ms=_elapsed(start),
        error=None if ok else f"mail server {host} greeted {greeting or 'with nothing'!r}",
        details={"greeting": greeting},
    )
