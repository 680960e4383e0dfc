"""Reporting to Arbiter as an integration middleware would: ``POST .../events`` in batches.

Events are built here in CONTRACT.md's shape (the sandbox keeps its own small copy of it: it
speaks to Arbiter only over HTTP). Delivery never blocks or crashes an integration: events
wait in a bounded buffer and are retried with backoff while Arbiter is unreachable or busy;
a batch Arbiter rejects as invalid (422) is dropped and counted, since resending it cannot
succeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from datetime import datetime
from typing import Any

import httpx

from sandbox import timefmt

log = logging.getLogger("sandbox.reporter")

BATCH_SIZE = 500
MAX_BACKOFF_SECONDS = 30.0


def call_event(
    event_id: str,
    *,
    moment: datetime,
    flow: str,
    system: str,
    target: str,
    status: int | None,
    duration_ms: float,
    error: str | None = None,
    refs: dict[str, str] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    outcome: dict[str, Any] = {"status": status, "duration_ms": round(max(duration_ms, 0.0), 1)}
    if error:
        outcome["error"] = error[:4000]
    event: dict[str, Any] = {
        "id": event_id,
        "time": timefmt.iso_z(moment),
        "flow": flow,
        "kind": "call",
        "system": system,
        "target": target,
        "outcome": outcome,
    }
    if refs:
        event["refs"] = refs
    if data:
        event["data"] = data
    return event


def seen_event(
    event_id: str,
    *,
    moment: datetime,
    flow: str,
    system: str,
    refs: dict[str, str],
    state: str | None = None,
    quantity: float | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": event_id,
        "time": timefmt.iso_z(moment),
        "flow": flow,
        "kind": "seen",
        "system": system,
        "refs": refs,
    }
    if state is not None:
        event["state"] = state
    if quantity is not None:
        event["quantity"] = quantity
    if data:
        event["data"] = data
    return event


class EventReporter:
    def __init__(
        self,
        *,
        url: str | None,
        token: str | None,
        workspace: str,
        flush_seconds: float = 1.0,
        client: httpx.AsyncClient | None = None,
        max_buffer: int = 100_000,
        keep_recent: int = 2000,
    ) -> None:
        self.endpoint = f"{url.rstrip('/')}/api/v1/workspaces/{workspace}/events" if url else None
        self._token = token
        self._flush_seconds = flush_seconds
        self._client = client
        self._buffer: deque[dict[str, Any]] = deque()
        self._max_buffer = max_buffer
        self.recent: deque[dict[str, Any]] = deque(maxlen=keep_recent)
        self._wake = asyncio.Event()
        self._sending = asyncio.Lock()
        self._in_flight = 0
        self.sent = 0
        self.duplicates = 0
        self.rejected = 0
        self.dropped = 0
        self.failures = 0
        self.last_error: str | None = None

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def emit(self, event: dict[str, Any]) -> None:
        self.recent.append(event)
        if self.endpoint is None:
            return
        if len(self._buffer) >= self._max_buffer and len(self._buffer) > self._in_flight:
            # bounded memory beats an out-of-memory sandbox: drop the oldest not being sent
            del self._buffer[self._in_flight]
            self.dropped += 1
        self._buffer.append(event)
        if len(self._buffer) >= BATCH_SIZE:
            self._wake.set()

    def stats(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "pending": self.pending,
            "sent": self.sent,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "dropped": self.dropped,
            "failures": self.failures,
            "last_error": self.last_error,
        }

    async def run(self) -> None:
        """Deliver until cancelled, backing off while Arbiter does not take the events."""
        backoff = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(self._flush_seconds, backoff))
            self._wake.clear()
            delivered = await self.flush()
            backoff = 0.0 if delivered else min(max(backoff * 2, 1.0), MAX_BACKOFF_SECONDS)

    async def flush(self) -> bool:
        """Send what is buffered; False when Arbiter could not take it (it stays buffered)."""
        if self.endpoint is None:
            return True
        async with self._sending:  # one batch in flight at a time, whoever flushes
            while self._buffer:
                batch = [self._buffer[i] for i in range(min(BATCH_SIZE, len(self._buffer)))]
                self._in_flight = len(batch)
                try:
                    if await self._post(batch) == "retry":
                        return False
                    for _ in batch:
                        self._buffer.popleft()
                finally:
                    self._in_flight = 0
            return True

    async def _post(self, batch: list[dict[str, Any]]) -> str:
        assert self.endpoint is not None
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        try:
            if self._client is not None:
                response = await self._client.post(
                    self.endpoint, json={"events": batch}, headers=headers
                )
            else:
                async with httpx.AsyncClient(timeout=10.0) as client:
                    response = await client.post(
                        self.endpoint, json={"events": batch}, headers=headers
                    )
        except (httpx.HTTPError, OSError) as exc:
            return self._failed(f"{type(exc).__name__}: {exc}")
        if response.status_code in {200, 201, 202}:
            try:
                body = response.json()
                self.sent += int(body.get("accepted", len(batch)))
                self.duplicates += int(body.get("duplicates", 0))
            except (ValueError, AttributeError, TypeError):
                self.sent += len(batch)
            self.last_error = None
            return "done"
        if response.status_code in {400, 413, 422}:
            self.rejected += len(batch)
            self.last_error = f"HTTP {response.status_code}: {response.text[:500]}"
            log.warning("Arbiter rejected %d events: %s", len(batch), self.last_error)
            return "done"
        return self._failed(f"HTTP {response.status_code}: {response.text[:200]}")

    def _failed(self, reason: str) -> str:
        self.failures += 1
        if self.last_error != reason:
            log.warning("cannot report to Arbiter (%s); %d events wait", reason, len(self._buffer))
        self.last_error = reason
        return "retry"
