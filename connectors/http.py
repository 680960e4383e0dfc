"""The one HTTP path every connector takes: pacing, retries, error translation and evidence.

Each attempt is recorded as a ``call`` event from ``arbiter`` to the system (status, duration,
error), whether it succeeded, failed or was retried: that record is Arbiter's evidence about the
system. Errors are translated into the :mod:`connectors.base` tree at this boundary.

>>> policy = RetryPolicy(attempts=2, initial_delay=0.0)
>>> policy.attempts
2
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import random
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from connectors.base import (
    AuthError,
    ConnectorError,
    ProtocolError,
    RateLimited,
    RateLimitStatus,
    Sleep,
    Unavailable,
)
from graph.model import ARBITER_SYSTEM, Event, Outcome

EgressMode = Literal["private", "public"]
"""Where Arbiter may send requests: ``private`` also reaches loopback and private networks (a
merchant's ERP often lives on one); ``public`` reaches public addresses only (multi-tenant)."""

_NEVER_REACHED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",  # link-local: the cloud metadata services live here
        "fe80::/10",
        "fd00:ec2::254/128",  # AWS metadata over IPv6 (inside the private fc00::/7)
        "100.100.100.200/32",  # Alibaba Cloud metadata (inside the shared 100.64/10)
    )
)


def egress_refusal(address: str, mode: EgressMode) -> str | None:
    """Why ``address`` (an IP literal) may not be reached under ``mode``, or None when it may.

    >>> egress_refusal("169.254.169.254", "private")
    'a link-local address (cloud metadata) is never reached'
    >>> egress_refusal("10.0.0.5", "private") is None, egress_refusal("10.0.0.5", "public")
    (True, 'a loopback or private address is refused (egress policy: public)')
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:169.254.169.254 reaches the same host
    if ip.is_link_local or any(ip in net for net in _NEVER_REACHED):
        return "a link-local address (cloud metadata) is never reached"
    if ip.is_unspecified or ip.is_multicast or (ip.is_reserved and not ip.is_loopback):
        return "an unspecified, multicast or reserved address is never reached"
    if mode == "public" and not ip.is_global:
        return "a loopback or private address is refused (egress policy: public)"
    return None


class EgressRefused(httpx.ConnectError):
    """The egress policy refused every address the request's host resolves to."""


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def _resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class EgressTransport(httpx.AsyncBaseTransport):
    """Applies the egress policy to every request, on the address actually connected to.

    The host is resolved here, the first permitted address is checked and the request is sent to
    that address (Host header and TLS server name stay the host's): a DNS answer that changes
    between a check and the connection (rebinding) cannot steer the request elsewhere.
    """

    def __init__(
        self,
        mode: EgressMode,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        resolve: Resolver = _resolve,
    ):
        self.mode = mode
        self._inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self._resolve = resolve

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        port = url.port or (443 if url.scheme == "https" else 80)
        timeout = request.extensions.get("timeout", {}).get("connect")
        try:
            addresses = await asyncio.wait_for(self._resolve(host, port), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpx.ConnectError(f"cannot resolve {host}", request=request) from exc
        reasons = {address: egress_refusal(address, self.mode) for address in addresses}
        allowed = [address for address, reason in reasons.items() if reason is None]
        if not allowed:
            address, reason = next(iter(reasons.items()), (host, "no address"))
            raise EgressRefused(f"{host} ({address}): {reason}", request=request)
        if allowed[0] != host:
            request.url = url.copy_with(host=allowed[0])
            if url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


NO_JSON: Any = object()
"""Stands for a body that is not JSON (empty, HTML, truncated)."""

Classifier = Callable[[httpx.Response, Any], ConnectorError | None]


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in all, exponential backoff with jitter, Retry-After cap."""

    attempts: int = 4
    initial_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    max_retry_after: float = 120.0
    """A 429 asking to wait longer than this is raised as RateLimited, not slept through."""


class TokenBucket:
    """Client-side pacing so a vendor's limit is never reached.

    ``capacity`` calls may go at once, then ``rate`` per second. With capacity 10 and rate 90/60
    no 60-second window holds more than 100 calls: BaseLinker's limit is never hit.

    >>> bucket = TokenBucket(capacity=2, rate=1.0, limit=3, window_seconds=60, monotonic=lambda: 0)
    >>> bucket.remaining()
    3
    """

    def __init__(
        self,
        *,
        capacity: float,
        rate: float,
        limit: int,
        window_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.capacity = capacity
        self.rate = rate
        self.limit = limit
        self.window_seconds = window_seconds
        self._monotonic = monotonic
        self._tokens = capacity
        self._updated = monotonic()
        self._recent: deque[float] = deque()

    def _refill(self, now: float) -> None:
        now = max(now, self._updated)
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        while self._recent and self._recent[0] <= now - self.window_seconds:
            self._recent.popleft()

    async def acquire(self, sleep: Sleep) -> float:
        """Take one token, sleeping first when there is none; returns the seconds slept."""
        waited = 0.0
        self._refill(self._monotonic())
        while self._tokens < 1 - 1e-9:
            delay = (1 - self._tokens) / self.rate
            await sleep(delay)
            waited += delay
            now = max(self._monotonic(), self._updated + delay)  # a fake clock may not move
            self._refill(now)
        self._tokens -= 1
        self._recent.append(self._updated)
        return waited

    def remaining(self) -> int:
        self._refill(max(self._monotonic(), self._updated))
        return max(0, self.limit - len(self._recent))

    def status(self, now: datetime) -> RateLimitStatus:
        remaining = self.remaining()
        reset_at = None
        if self._recent:
            free_in = self._recent[0] + self.window_seconds - self._updated
            reset_at = now + timedelta(seconds=max(0.0, free_in))
        return RateLimitStatus(
            limit=self.limit,
            remaining=remaining,
            reset_at=reset_at,
            window_seconds=self.window_seconds,
        )


@dataclass(frozen=True)
class Reply:
    response: httpx.Response
    body: Any


def vendor_error(body: Any) -> tuple[str | None, str | None]:
    """(code, message) from the error bodies of the vendors we speak, else (None, None)."""
    if not isinstance(body, dict):
        return None, None
    if "error_code" in body or "error_message" in body:  # BaseLinker
        return _text(body.get("error_code")), _text(body.get("error_message"))
    if isinstance(body.get("error"), dict):  # JSON-RPC (Odoo)
        error = body["error"]
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        return _text(data.get("name") or error.get("code")), _text(
            data.get("message") or error.get("message")
        )
    message = _text(body.get("message"))
    if message and isinstance(body.get("parameters"), dict):  # Magento's "%name" placeholders
        for key, value in body["parameters"].items():
            message = message.replace(f"%{key}", str(value))
    code = body.get("code") or body.get("name")  # WooCommerce / Odoo JSON-2
    return _text(code), message


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - now).total_seconds())


def header_rate_limit(headers: httpx.Headers, now: datetime) -> RateLimitStatus | None:
    """Headroom from X-RateLimit-* / RateLimit-* response headers, when a server sends them."""

    def number(*names: str) -> int | None:
        for name in names:
            raw = headers.get(name)
            if raw is not None:
                try:
                    return int(float(raw.split(",")[0].split(";")[0]))
                except ValueError:
                    return None
        return None

    limit = number("x-ratelimit-limit", "ratelimit-limit")
    remaining = number("x-ratelimit-remaining", "ratelimit-remaining")
    if limit is None and remaining is None:
        return None
    reset = number("x-ratelimit-reset", "ratelimit-reset")
    reset_at = None
    if reset is not None:
        # Epoch seconds or seconds from now: a value larger than a year is an epoch.
        seconds = reset - now.timestamp() if reset > 365 * 86400 else reset
        reset_at = now + timedelta(seconds=max(0.0, seconds))
    return RateLimitStatus(limit=limit, remaining=remaining, reset_at=reset_at, window_seconds=None)


class HttpApi:
    """Sends a connector's requests; keeps the call events until :meth:`drain` takes them."""

    def __init__(
        self,
        *,
        client: httpx.AsyncClient,
        system_id: str,
        base_url: str,
        clock: Callable[[], datetime],
        retry: RetryPolicy,
        sleep: Sleep,
        limiter: TokenBucket | None = None,
    ):
        self._client = client
        self._system_id = system_id
        self._base_url = base_url.rstrip("/")
        self._clock = clock
        self._policy = retry
        self._sleep = sleep
        self._limiter = limiter
        self._calls: list[Event] = []
        self._seq = 0
        self._last_headers: httpx.Headers | None = None
        self.recording = True

    def url(self, path: str) -> str:
        return f"{self._base_url}/{path.lstrip('/')}"

    def drain(self) -> list[Event]:
        calls, self._calls = self._calls, []
        return calls

    def rate_limit(self) -> RateLimitStatus | None:
        now = self._clock()
        if self._limiter is not None:
            return self._limiter.status(now)
        if self._last_headers is not None:
            return header_rate_limit(self._last_headers, now)
        return None

    async def request(
        self,
        method: str,
        path: str,
        *,
        flow: str,
        label: str | None = None,
        classify: Classifier | None = None,
        **kwargs: Any,
    ) -> Reply:
        """One logical request, retried on 5xx, timeouts and short 429s; JSON body parsed."""
        label = label or f"{method} {path.split('?')[0]}"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self._policy.attempts)),
            wait=self._wait,
            retry=retry_if_exception(self._retryable),
            sleep=self._sleep,
            reraise=True,
        )
        reply: Reply | None = None
        async for attempt in retrying:
            with attempt:
                reply = await self._attempt(method, path, flow, label, classify, kwargs)
        assert reply is not None  # reraise=True: the loop ends in a reply or an exception
        return reply

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, Unavailable):
            return True
        if isinstance(exc, RateLimited):
            return exc.retry_after is None or exc.retry_after <= self._policy.max_retry_after
        return False

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, RateLimited) and exc.retry_after is not None:
            return exc.retry_after
        policy = self._policy
        exponential = policy.initial_delay * 2 ** max(0, state.attempt_number - 1)
        return float(min(policy.max_delay, exponential) + random.uniform(0, policy.jitter))

    async def _attempt(
        self,
        method: str,
        path: str,
        flow: str,
        label: str,
        classify: Classifier | None,
        kwargs: Mapping[str, Any],
    ) -> Reply:
        if self._limiter is not None:
            await self._limiter.acquire(self._sleep)
        started = self._clock()
        t0 = time.perf_counter()
        try:
            response = await self._client.request(method, self.url(path), **kwargs)
        except EgressRefused as exc:
            # Not recorded as a call: the system was never reached, so this is no evidence
            # about it (the operator's policy refused the address, not the system).
            raise ConnectorError(
                f"{label}: refused by the egress policy: {exc}", code="egress_refused"
            ) from exc
        except httpx.TimeoutException as exc:
            error: ConnectorError = Unavailable(f"{label}: timed out ({type(exc).__name__})")
            self._record(flow, label, started, t0, None, error.message)
            raise error from exc
        except httpx.TransportError as exc:
            error = Unavailable(f"{label}: no connection ({type(exc).__name__}: {exc})")
            self._record(flow, label, started, t0, None, error.message)
            raise error from exc
        self._last_headers = response.headers
        body = _json_body(response)
        failure = self._status_error(response, body, label, started)
        if failure is None and body is NO_JSON and not response.content.strip():
            failure = ProtocolError(
                f"{label}: empty body in a {response.status_code} answer",
                status=response.status_code,
                code="empty_body",
            )
        elif failure is None and body is NO_JSON:
            # The body itself is never quoted: the URL may point at a page its reader must not
            # see through Arbiter (an internal service); its type and size say enough.
            kind = response.headers.get("content-type", "no content type").split(";")[0][:100]
            failure = ProtocolError(
                f"{label}: malformed JSON in a {response.status_code} answer "
                f"({kind}, {len(response.content)} bytes)",
                status=response.status_code,
                code="malformed_json",
            )
        if failure is None and classify is not None:
            failure = classify(response, body)
        self._record(
            flow, label, started, t0, response.status_code, failure.message if failure else None
        )
        if failure is not None:
            raise failure
        return Reply(response=response, body=body)

    def _status_error(
        self, response: httpx.Response, body: Any, label: str, now: datetime
    ) -> ConnectorError | None:
        status = response.status_code
        if status < 400:
            return None
        code, message = vendor_error(body)
        # Only the vendor's structured error (code, message) is quoted, never a raw body.
        message = message[:300] if message else response.reason_phrase
        text = f"{label}: HTTP {status}" + (f" {code[:100]}" if code else "") + f": {message}"
        if status == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"), now)
            return RateLimited(text, retry_after=wait, status=status, code=code)
        if status in (401, 403):
            return AuthError(text, status=status, code=code)
        if status >= 500:
            return Unavailable(text, status=status, code=code)
        return ProtocolError(text, status=status, code=code)

    def _record(
        self,
        flow: str,
        label: str,
        started: datetime,
        t0: float,
        status: int | None,
        error: str | None,
    ) -> None:
        if not self.recording:
            return
        self._seq += 1
        digest = hashlib.sha256(f"{label}|{self._seq}".encode()).hexdigest()[:8]
        event_id = (
            f"{ARBITER_SYSTEM}:{self._system_id}:call:{flow}:"
            f"{started.strftime('%Y%m%dT%H%M%S.%f')}:{self._seq}:{digest}"
        )
        self._calls.append(
            Event(
                id=event_id,
                time=started,
                flow=flow,
                kind="call",
                system=ARBITER_SYSTEM,
                target=self._system_id,
                outcome=Outcome(
                    status=status,
                    duration_ms=round((time.perf_counter() - t0) * 1000, 3),
                    error=error[:4000] if error else None,
                ),
                data={"request": label},
            )
        )


def _json_body(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return NO_JSON
