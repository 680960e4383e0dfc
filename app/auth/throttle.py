"""Failed authentication, throttled per client address: guessing tokens costs time.

Each client address may fail ``auth_failures_per_minute`` times in any 60 seconds (a wrong
bearer token on the API or OTLP ingest, a wrong token at the dashboard's sign-in); after that
every attempt from that address is answered 429 with ``Retry-After`` until the oldest failure
is a minute old, whatever token it carries, so a guess that happens to be right is refused too.

>>> clock = [0.0]
>>> throttle = FailureThrottle(2, monotonic=lambda: clock[0])
>>> throttle.retry_after("10.0.0.1") is None
True
>>> throttle.failed("10.0.0.1"); throttle.failed("10.0.0.1")
>>> throttle.retry_after("10.0.0.1"), throttle.retry_after("10.0.0.2")
(60, None)
>>> clock[0] = 60.0
>>> throttle.retry_after("10.0.0.1") is None
True
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from fastapi import Request
from starlette.responses import Response

from app.exceptions import Throttled

WINDOW_SECONDS = 60.0
MAX_ADDRESSES = 10_000
"""Addresses remembered at once; the least recently failing are forgotten first."""


class TooManyFailures(Throttled):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed authentications from this address: retry in {retry_after} s",
            retry_after=retry_after,
        )


class FailureThrottle:
    def __init__(self, limit: int, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._monotonic = monotonic
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, address: str) -> int | None:
        """Seconds until ``address`` may try again, or None when it may try now."""
        now = self._monotonic()
        with self._lock:
            failures = self._failures.get(address)
            if failures is None:
                return None
            while failures and failures[0] <= now - WINDOW_SECONDS:
                failures.popleft()
            if not failures:
                del self._failures[address]
                return None
            if len(failures) < self.limit:
                return None
            return max(1, math.ceil(failures[0] + WINDOW_SECONDS - now))

    def failed(self, address: str) -> None:
        with self._lock:
            failures = self._failures.setdefault(address, deque())
            self._failures.move_to_end(address)
            failures.append(self._monotonic())
            while len(failures) > self.limit:
                failures.popleft()
            while len(self._failures) > MAX_ADDRESSES:
                self._failures.popitem(last=False)


def throttle_of(request: Request) -> FailureThrottle:
    """The app's throttle (one per app: tests run several apps in one process)."""
    state = request.app.state
    found: FailureThrottle | None = getattr(state, "auth_throttle", None)
    if found is None:
        found = state.auth_throttle = FailureThrottle(
            state.runtime.settings.auth_failures_per_minute
        )
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def check(request: Request) -> None:
    """Raise 429 when the caller's address has failed too often lately."""
    wait = throttle_of(request).retry_after(client_address(request))
    if wait is not None:
        raise TooManyFailures(wait)


def refusal(request: Request, page: Callable[[], Response]) -> Response | None:
    """A form's answer when the caller's address has failed too often lately: ``page()`` (its
    429 page) with ``Retry-After``; None when the caller may try now."""
    wait = throttle_of(request).retry_after(client_address(request))
    if wait is None:
        return None
    answer = page()
    answer.headers["Retry-After"] = str(wait)
    return answer


def failed(request: Request) -> None:
    throttle_of(request).failed(client_address(request))
