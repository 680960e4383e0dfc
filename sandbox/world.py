"""Everything one sandbox run holds: the systems' data, the faults, the reporter, the ports.

The imitations, the integrations, the traffic generator and the control API all share one
``World``; they run on one event loop, so nothing here locks.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox import timefmt
from sandbox.config import SandboxConfig
from sandbox.erp import ErpService
from sandbox.faults import Fault, FaultRegistry
from sandbox.reporter import EventReporter
from sandbox.requests import RequestLog
from sandbox.stores import CATALOG, MagentoSourceItem, MagentoStore, OmsStore, ShopStore
from sandbox.woo_webhooks import WooWebhooks

GATE_KINDS = ("down", "token_expired", "throttle")


@dataclass
class IntegrationRun:
    runs: int = 0
    last_run: datetime | None = None
    last_ok: datetime | None = None
    last_error: str | None = None
    moved: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "last_run": timefmt.iso_z(self.last_run) if self.last_run else None,
            "last_ok": timefmt.iso_z(self.last_ok) if self.last_ok else None,
            "last_error": self.last_error,
            "moved": self.moved,
        }


@dataclass
class World:
    config: SandboxConfig
    run_id: str
    id_base: int
    faults: FaultRegistry
    rng: random.Random
    shop: ShopStore
    magento: MagentoStore
    oms: OmsStore
    erp: ErpService
    reporter: EventReporter
    clock: Callable[[], datetime] = timefmt.now
    ports: dict[str, int] = field(default_factory=dict)
    integrations: dict[str, IntegrationRun] = field(default_factory=dict)
    webhooks: WooWebhooks | None = None
    payments: list[tuple[datetime, int, str]] = field(default_factory=list)
    """A heap of (due, shop order id, status): the payment outcomes still to come."""
    requests: RequestLog = field(default_factory=RequestLog)
    """Every request the imitated systems received, by system and caller."""

    @classmethod
    def create(cls, config: SandboxConfig, *, reporter: EventReporter | None = None) -> World:
        rng = random.Random(config.seed)
        faults = FaultRegistry(seed=config.seed)
        id_base = config.resolved_id_base()
        moment = timefmt.now()
        stock = {item.sku: rng.randint(5, 60) for item in CATALOG}
        shop = ShopStore(first_order_id=id_base)
        oms = OmsStore(
            first_order_id=id_base + 3_000_000,
            inventory_id=config.baselinker.inventory_id,
            warehouse=config.baselinker.warehouse,
        )
        magento = MagentoStore(first_order_id=id_base)
        for item in CATALOG:
            shop.add_product(item, stock[item.sku], moment)
            oms.add_product(item, stock[item.sku])
            magento.source_items[item.sku] = MagentoSourceItem(item.sku, rng.randint(0, 40))
        erp = ErpService.seeded(faults, order_name=lambda n: f"S{id_base + n:05d}", stock=stock)
        return cls(
            config=config,
            run_id=config.resolved_run_id(),
            id_base=id_base,
            faults=faults,
            rng=rng,
            shop=shop,
            magento=magento,
            oms=oms,
            erp=erp,
            reporter=reporter
            or EventReporter(
                url=config.arbiter_url,
                token=config.arbiter_token,
                workspace=config.workspace,
                flush_seconds=config.reporter_flush_seconds,
            ),
        )

    def event_id(self, *parts: object) -> str:
        """Deterministic within a run, distinct across runs: ``sbx-<run>-<parts>``."""
        return "-".join(["sbx", self.run_id, *(str(p) for p in parts)])

    def gate(self, system: str) -> Fault | None:
        """The fault that stops this request to ``system`` before it is handled, if any."""
        for kind in GATE_KINDS:
            fault = self.faults.strikes(kind, system)
            if fault is not None:
                return fault
        return None

    def is_down(self, system: str) -> bool:
        return self.faults.active("down", system) is not None

    def url(self, system: str) -> str:
        return f"http://{self.config.host}:{self.ports.get(system, 0)}"

    def integration(self, name: str) -> IntegrationRun:
        return self.integrations.setdefault(name, IntegrationRun())
