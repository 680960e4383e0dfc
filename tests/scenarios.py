"""Realistic event streams for tests: a shop, an OMS and an ERP, as CONTRACT.md draws them.

Each system knows only its own identifiers: the shop its order number, the OMS its own id
*and* the shop's number, the ERP its own document number and the OMS's id. The OMS pulls
orders from the shop and pushes them to the ERP; stock flows ERP → OMS → shop. Systems'
clocks may be skewed, calls retried, events duplicated and delivered out of order.

>>> world = World()
>>> _ = world.order(100045, at=0)
>>> [e.system for e in world.events]
['shop', 'oms', 'oms', 'oms', 'erp']
>>> index = world.index()
>>> index.diagnose(STANDARD_TOPOLOGY, as_of=world.time(3600)).suspects
[]
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from graph.index import WorkspaceIndex
from graph.model import ARBITER_SYSTEM, Event, Topology

STANDARD_TOPOLOGY_JSON: dict[str, Any] = {
    "systems": [
        {"id": "shop", "kind": "woocommerce", "vendor": "Shop agency"},
        {"id": "oms", "kind": "baselinker", "vendor": "BaseLinker"},
        {"id": "erp", "kind": "odoo", "vendor": "ERP partner"},
    ],
    "links": [
        {"flow": "order", "from": "shop", "to": "oms", "initiator": "to",
         "owner": "BaseLinker", "sla_seconds": 600},
        {"flow": "order", "from": "oms", "to": "erp", "initiator": "from",
         "owner": "ERP partner", "sla_seconds": 900},
        {"flow": "stock", "from": "erp", "to": "oms", "initiator": "to",
         "owner": "BaseLinker", "sla_seconds": 1800},
        {"flow": "stock", "from": "oms", "to": "shop", "initiator": "from",
         "owner": "BaseLinker", "sla_seconds": 900},
    ],
}  # fmt: skip
STANDARD_TOPOLOGY = Topology.model_validate(STANDARD_TOPOLOGY_JSON)
# The three sample events of CONTRACT.md, as a client sends them.
CONTRACT_EVENTS: list[dict[str, Any]] = [
    {
        "id": "shop-order-100045-created",
        "time": "2026-11-25T10:00:00Z",
        "flow": "order",
        "kind": "seen",
        "system": "shop",
        "refs": {"shop": "100045"},
        "state": "processing",
        "data": {"total": "199.00", "currency": "PLN", "lines": 2},
    },
    {
        "id": "oms-call-7789-1",
        "time": "2026-11-25T10:03:10Z",
        "flow": "order",
        "kind": "call",
        "system": "oms",
        "target": "erp",
        "refs": {"oms": "7789", "shop": "100045"},
        "outcome": {"status": 503, "duration_ms": 30000, "error": "upstream timeout"},
    },
    {
        "id": "erp-stock-ABC-1-0915",
        "time": "2026-11-25T09:15:00Z",
        "flow": "stock",
        "kind": "seen",
        "system": "erp",
        "refs": {"sku": "ABC-1"},
        "quantity": 12,
    },
]

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
ORDER_DATA = {"total": "199.00", "currency": "PLN", "lines": 2}


def oms_id(number: int) -> str:
    """The OMS's id for the shop's order ``number``."""
    return str(number + 7_000_000)


def erp_id(number: int) -> str:
    """The ERP's document number for the shop's order ``number``."""
    return f"ZK/{number}/2026"


class World:
    """Builds a stream of events; times are seconds after ``start`` on a true clock.

    ``skew`` shifts the timestamps each system writes (its clock is that many seconds off).
    """

    def __init__(self, *, start: datetime = START, skew: dict[str, float] | None = None) -> None:
        self.start = start
        self.skew = dict(skew or {})
        self.events: list[Event] = []
        self._serial = 0

    def time(self, offset: float) -> datetime:
        """The true moment ``offset`` seconds after the start."""
        return self.start + timedelta(seconds=offset)

    def _id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial}"

    def _stamp(self, system: str, offset: float) -> datetime:
        return self.time(offset + self.skew.get(system, 0.0))

    def _add(self, prefix: str, system: str, at: float, **fields: Any) -> Event:
        """Record an event ``system`` writes at true time ``at`` (by its clock)."""
        event = Event.model_validate(
            {"id": self._id(prefix), "time": self._stamp(system, at), "system": system, **fields}
        )
        self.events.append(event)
        return event

    def seen(
        self,
        system: str,
        at: float,
        refs: dict[str, str],
        *,
        flow: str = "order",
        state: str | None = None,
        quantity: float | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        """``system`` reports the entity at true time ``at``."""
        return self._add(
            f"{system}-seen",
            system,
            at,
            flow=flow,
            kind="seen",
            refs=refs,
            state=state,
            quantity=quantity,
            data=data,
        )

    def call(
        self,
        caller: str,
        target: str,
        at: float,
        status: int | None,
        *,
        refs: dict[str, str] | None = None,
        flow: str = "order",
        duration_ms: float = 120.0,
        error: str | None = None,
    ) -> Event:
        """``caller`` calls ``target`` at true time ``at``; ``status`` None is no answer."""
        if status is None:
            duration_ms, error = 30_000.0, error or "timed out"
        elif status >= 400 and error is None:
            error = {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "error")
        outcome = {"status": status, "duration_ms": duration_ms, "error": error}
        return self._add(
            f"{caller}-call-{target}",
            caller,
            at,
            flow=flow,
            kind="call",
            target=target,
            refs=refs or {},
            outcome=outcome,
        )

    def probe(self, target: str, at: float, status: int | None, *, flow: str = "order") -> Event:
        """Arbiter's own health probe of ``target``."""
        return self.call(ARBITER_SYSTEM, target, at, status, flow=flow)

    def order(
        self,
        number: int,
        *,
        at: float,
        pulls: Sequence[int | None] = (200,),
        oms_after: float | None = 60.0,
        pushes: Sequence[int | None] = (201,),
        erp_after: float | None = 90.0,
        data: dict[str, Any] | None = None,
        erp_data: dict[str, Any] | None = None,
        retry_every: float = 20.0,
    ) -> list[Event]:
        """One order's journey; ``None`` for ``oms_after``/``erp_after`` means it never got there.

        ``pulls`` are the statuses the shop answered to the OMS's fetches of this order (the
        last one just before ``oms_after``); ``pushes`` those the ERP answered to the OMS's
        pushes, starting 30 s after the order reached the OMS, ``retry_every`` apart.
        ``erp_after`` counts from the order's arrival in the OMS.
        """
        first = len(self.events)
        shop_ref = {"shop": str(number)}
        both = {"oms": oms_id(number), "shop": str(number)}
        payload = dict(ORDER_DATA if data is None else data)
        self.seen("shop", at, shop_ref, state="processing", data=payload)
        fetch_end = at + (oms_after if oms_after is not None else 600.0)
        for i, status in enumerate(pulls):
            moment = fetch_end - 5 - retry_every * (len(pulls) - 1 - i)
            self.call("oms", "shop", max(at + 1, moment), status, refs=shop_ref)
        if oms_after is None:
            return self.events[first:]
        in_oms = at + oms_after
        self.seen("oms", in_oms, both, state="new", data=payload)
        for i, status in enumerate(pushes):
            self.call("oms", "erp", in_oms + 30 + retry_every * i, status, refs=both)
        if erp_after is not None:
            self.seen(
                "erp",
                in_oms + erp_after,
                {"erp": erp_id(number), "oms": oms_id(number)},
                state="draft",
                data=dict(payload if erp_data is None else erp_data),
            )
        return self.events[first:]

    def stock(self, system: str, sku: str, at: float, quantity: float) -> Event:
        """``system`` shows ``quantity`` of ``sku`` at true time ``at``."""
        return self.seen(system, at, {"sku": sku}, flow="stock", quantity=quantity)

    def busy(self, orders: int, *, start: float = 0.0, every: float = 30.0) -> None:
        """A healthy busy stream: orders every ``every`` s, some retried, all on time."""
        rng = random.Random(orders)
        for i in range(orders):
            pulls: tuple[int | None, ...] = (200,) if rng.random() > 0.1 else (503, 200)
            pushes: tuple[int | None, ...] = (201,) if rng.random() > 0.1 else (None, 429, 201)
            self.order(
                500_000 + i,
                at=start + i * every,
                pulls=pulls,
                pushes=pushes,
                oms_after=rng.uniform(20, 400),
                erp_after=rng.uniform(40, 500),
            )

    def index(self, events: Iterable[Event] | None = None) -> WorkspaceIndex:
        """A fresh index fed this world's events (or ``events``)."""
        index = WorkspaceIndex()
        index.add(self.events if events is None else events)
        return index


def redelivered(events: Sequence[Event], *, seed: int, repeat: float = 0.2) -> list[Event]:
    """``events`` shuffled, with about ``repeat`` of them delivered twice (webhook retries)."""
    rng = random.Random(seed)
    out = list(events) + [e for e in events if rng.random() < repeat]
    rng.shuffle(out)
    return out
