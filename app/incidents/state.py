"""What the incident machinery keeps per running service, beside (not inside) ``Runtime``.

``Runtime`` belongs to the service core; domains hang their own in-memory state off it here,
keyed by the runtime's identity and dropped when the runtime is garbage-collected.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from app.runtime import Runtime

T = TypeVar("T")

_attached: dict[tuple[int, str], Any] = {}
_guard = threading.Lock()


def attached(runtime: Runtime, name: str, make: Callable[[], T]) -> T:
    """The object ``name`` attached to ``runtime``, made on first use."""
    key = (id(runtime), name)
    with _guard:
        found = _attached.get(key)
        if found is None:
            found = _attached[key] = make()
            weakref.finalize(runtime, _attached.pop, key, None)
    value: T = found
    return value


@dataclass
class WorkspaceLocks:
    """One lock per workspace: two evaluations of one workspace never interleave."""

    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, workspace_id: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(workspace_id, threading.Lock())
