"""Faults injected through the control API, and the one question every imitation asks them.

A fault has a ``kind``, the system it afflicts (``target``) and the share of what it hits
(``ratio``). Faults that choose per request (``down``, ``throttle``, ``token_expired``) draw
at random; faults that choose per entity (``reject``, ``lost``, ``slow``, ``wrong_stock``)
decide by a hash of the fault and the entity, so a retried order meets the same fate and a
test can predict nothing less than "this share of orders".

Any fault given ``duration_seconds`` ends by itself that long after it was injected. An
``outage`` is a ``down`` that does so (default 300 s): the system comes back, and whoever held
work back for it (the OMS's pushes to the ERP) replays the backlog.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

FAULT_TARGETS: dict[str, frozenset[str]] = {
    # a system answers 503 (or nothing) to everyone
    "down": frozenset({"shop", "magento", "oms", "erp"}),
    # down for ``duration_seconds``, then back
    "outage": frozenset({"shop", "magento", "oms", "erp"}),
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
    # the storefront (sandbox/storefront.py): pages 503 and mail 421, the hosting died
    "site_down": frozenset({"shop"}),
    # the checkout page answers 500; it answers late; the TLS certificate expires soon
    "checkout_500": frozenset({"shop"}),
    "slow_checkout": frozenset({"shop"}),
    "cert_expiring": frozenset({"shop"}),
}

ACTS_AS = {"outage": "down", "site_down": "down"}
"""Kinds that behave as another kind while they last (a dead hosting takes the shop's API too)."""

DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "down": {"mode": "503"},
    "outage": {"mode": "503", "duration_seconds": 300.0},
    "throttle": {"retry_after": 30},
    "slow": {"delay_seconds": 1200.0},
    "wrong_stock": {"delta": 5},
    "reject": {"message": "Invalid order: the customer's tax identification is missing"},
    "slow_checkout": {"delay_seconds": 3.0},
    "cert_expiring": {"days": 5.0},
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

    @property
    def expires_at(self) -> datetime | None:
        duration = self.param("duration_seconds")
        if duration is None:
            return None
        return self.created_at + timedelta(seconds=float(duration))

    def acts_as(self, kind: str) -> bool:
        return self.kind == kind or ACTS_AS.get(self.kind) == kind

    def chooses(self, key: str) -> bool:
        """Whether this fault hits the entity named ``key``; stable for a given fault."""
        if self.ratio >= 1.0:
            return True
        digest = hashlib.sha256(f"{self.id}|{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.ratio

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "params": {**DEFAULT_PARAMS.get(self.kind, {}), **self.params},
            "created_at": _iso(self.created_at),
            "expires_at": _iso(self.expires_at) if self.expires_at else None,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


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
        duration = (params or {}).get("duration_seconds")
        if duration is not None:
            try:
                valid = float(duration) > 0
            except (TypeError, ValueError):
                valid = False
            if not valid:
                raise FaultError("duration_seconds: must be a number of seconds above 0")
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
        self._expire()
        return list(self._faults.values())

    def _expire(self) -> None:
        now = datetime.now(UTC)
        for fault in list(self._faults.values()):
            if fault.expires_at is not None and fault.expires_at <= now:
                del self._faults[fault.id]

    def _acting(self, kind: str, target: str) -> list[Fault]:
        """The faults in force that act as ``kind`` on ``target``, each shown as that kind."""
        self._expire()
        return [
            f if f.kind == kind else replace(f, kind=kind)
            for f in self._faults.values()
            if f.acts_as(kind) and f.target == target
        ]

    def active(self, kind: str, target: str) -> Fault | None:
        """The first fault of that kind on that target, whatever its ratio."""
        return next(iter(self._acting(kind, target)), None)

    def strikes(self, kind: str, target: str, key: str | None = None) -> Fault | None:
        """The fault of that kind on that target that hits this request (``key=None``, drawn at
        random) or this entity (``key``, decided by hash), if any."""
        for fault in self._acting(kind, target):
            if key is not None:
                if fault.chooses(key):
                    return fault
            elif fault.ratio >= 1.0 or self._random.random() < fault.ratio:
                return fault
        return None
