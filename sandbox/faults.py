"""Faults injected through the control API, and the one question every imitation asks them.

A fault has a ``kind``, the system it afflicts (``target``) and the share of what it hits
(``ratio``). Faults that choose per request (``down``, ``throttle``, ``token_expired``) draw
at random; faults that choose per entity (``reject``, ``lost``, ``slow``, ``wrong_stock``)
decide by a hash of the fault and the entity, so a retried order meets the same fate and a
test can predict nothing less than "this share of orders".
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FAULT_TARGETS: dict[str, frozenset[str]] = {
    # a system answers 503 (or nothing) to everyone
    "down": frozenset({"shop", "magento", "oms", "erp"}),
    # 429 with Retry-After (BaseLinker: its own limit error)
    "throttle": frozenset({"shop", "magento", "oms", "erp"}),
    # the system's API refuses the credentials everyone holds
    "token_expired": frozenset({"shop", "magento", "oms", "erp"}),
    # erp: 4xx validation error to orders pushed to it; shop: per-item error to stock updates
    "reject": frozenset({"erp", "shop"}),
    # erp: 2xx to a create, order never stored; shop: 2xx to a stock update, not applied
    "lost": frozenset({"erp", "shop"}),
    # the ERP books orders only after a delay longer than the SLA
    "slow": frozenset({"erp"}),
    # the OMS pushes a transformed quantity to the shop
    "wrong_stock": frozenset({"oms"}),
    # the OMS stops pushing stock to the shop
    "stale_stock": frozenset({"oms"}),
}

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "down": {"mode": "503"},
    "throttle": {"retry_after": 30},
    "slow": {"delay_seconds": 1200.0},
    "wrong_stock": {"delta": 5},
    "reject": {"message": "Invalid order: the customer's tax identification is missing"},
}


class FaultError(ValueError):
    """A fault that cannot be injected: unknown kind, wrong target, ratio out of range."""


@dataclass(frozen=True)
class Fault:
    id: str
    kind: str
    target: str
    ratio: float = 1.0
    params: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def param(self, name: str) -> Any:
        return self.params.get(name, DEFAULT_PARAMS.get(self.kind, {}).get(name))

    def chooses(self, key: str) -> bool:
        """Whether this fault hits the entity named ``key``; stable for a given fault."""
        if self.ratio >= 1.0:
            return True
        digest = hashlib.sha256(f"{self.id}|{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.ratio

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "target": self.target,
            "ratio": self.ratio,
            "params": {**DEFAULT_PARAMS.get(self.kind, {}), **self.params},
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
        }


class FaultRegistry:
    """The faults in force. Single-threaded: every caller runs on the sandbox's event loop."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._faults: dict[str, Fault] = {}
        self._counter = 0
        self._random = random.Random(seed)

    def add(
        self, kind: str, target: str, *, ratio: float = 1.0, params: dict[str, Any] | None = None
    ) -> Fault:
        targets = FAULT_TARGETS.get(kind)
        if targets is None:
            raise FaultError(f"kind: unknown fault kind {kind!r}; known: {sorted(FAULT_TARGETS)}")
        if target not in targets:
            raise FaultError(
                f"target: a {kind!r} fault applies to {sorted(targets)}, not {target!r}"
            )
        if not 0.0 <= ratio <= 1.0:
            raise FaultError("ratio: must be between 0 and 1")
        self._counter += 1
        fault = Fault(f"f{self._counter}", kind, target, ratio, dict(params or {}))
        self._faults[fault.id] = fault
        return fault

    def remove(self, fault_id: str) -> bool:
        return self._faults.pop(fault_id, None) is not None

    def clear(self) -> int:
        count = len(self._faults)
        self._faults.clear()
        return count

    def all(self) -> list[Fault]:
        return list(self._faults.values())

    def active(self, kind: str, target: str) -> Fault | None:
        """The first fault of that kind on that target, whatever its ratio."""
        return next(
            (f for f in self._faults.values() if f.kind == kind and f.target == target), None
        )

    def strikes(self, kind: str, target: str, key: str | None = None) -> Fault | None:
        """The fault of that kind on that target that hits this request (``key=None``, drawn at
        random) or this entity (``key``, decided by hash), if any."""
        for fault in self._faults.values():
            if fault.kind != kind or fault.target != target:
                continue
            if key is not None:
                if fault.chooses(key):
                    return fault
            elif fault.ratio >= 1.0 or self._random.random() < fault.ratio:
                return fault
        return None
