"""Every request the imitated systems receive, counted by system and caller (User-Agent): how
a test tells who polled a system, and how often (``GET /requests`` on the control API).

>>> log = RequestLog(keep=2)
>>> for path in ("/a", "/b", "/c"):
...     log.record("shop", "GET", path, "", "Arbiter (w-1)", at=1.0)
>>> log.counts, [r["path"] for r in log.recent()]
({'shop': {'Arbiter (w-1)': 3}}, ['/b', '/c'])
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


class RequestLog:
    def __init__(self, keep: int = 20_000) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        """system → User-Agent → requests received, since the start."""
        self._recent: deque[dict[str, Any]] = deque(maxlen=keep)

    def record(
        self, system: str, method: str, path: str, query: str, agent: str, *, at: float
    ) -> None:
        by_agent = self.counts.setdefault(system, {})
        by_agent[agent] = by_agent.get(agent, 0) + 1
        self._recent.append(
            {"at": at, "system": system, "method": method, "path": path, "query": query,
             "agent": agent}
        )  # fmt: skip

    def recent(
        self, *, system: str | None = None, agent_prefix: str = "", limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The requests kept (the newest ``keep``), oldest first."""
        found = [
            r
            for r in self._recent
            if (system is None or r["system"] == system) and r["agent"].startswith(agent_prefix)
        ]
        return found if limit is None else found[-limit:]


class RecordRequests:
    """ASGI middleware of one imitated system: notes each request before it is handled."""

    def __init__(self, app: ASGIApp, *, log: RequestLog, system: str) -> None:
        self.app = app
        self.log = log
        self.system = system

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            self.log.record(
                self.system,
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode("latin-1"),
                headers.get(b"user-agent", b"").decode("latin-1"),
                at=time.time(),
            )
        await self.app(scope, receive, send)
