"""How one sandbox run is set up: ports, demo credentials, intervals, where to report.

Every credential is a fixed demo value so that a demo workspace can be configured against the
sandbox without reading its output; none of them protects anything real.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

SYSTEMS = ("shop", "magento", "oms", "erp")
"""The imitated systems, in port order after ``base_port``; the control API comes last."""


@dataclass(frozen=True)
class WooCredentials:
    consumer_key: str = "ck_sandbox0000000000000000000000000000000000"
    consumer_secret: str = "cs_sandbox0000000000000000000000000000000000"  # noqa: S105 - a fixed demo credential


@dataclass(frozen=True)
class MagentoCredentials:
    store_code: str = "default"
    token: str = "sandbox-magento-integration-token"  # noqa: S105 - a fixed demo credential
    # The integration's OAuth 1.0a pair and token secret (Magento 2.4.4+ signs with all four).
    consumer_key: str = "sandbox-magento-consumer-key"
    consumer_secret: str = "sandbox-magento-consumer-secret"  # noqa: S105 - a fixed demo credential
    token_secret: str = "sandbox-magento-token-secret"  # noqa: S105 - a fixed demo credential
    integration_as_bearer: bool = True
    """Magento's ``oauth/consumer/enable_integration_as_bearer`` (off by default since 2.4.4;
    on here so bearer clients keep working; a test turns it off)."""


@dataclass(frozen=True)
class BaseLinkerCredentials:
    token: str = "1-23-SANDBOX"  # noqa: S105 - a fixed demo credential
    inventory_id: int = 1
    warehouse: str = "bl_1"


@dataclass(frozen=True)
class OdooCredentials:
    db: str = "sandbox"
    login: str = "integration@example.com"
    password: str = "sandbox-odoo-password"  # noqa: S105 - a fixed demo credential
    api_key: str = "6f646f6f2073616e64626f78206170692b6b6579"
    uid: int = 2


@dataclass
class SandboxConfig:
    """One sandbox run. Ports: shop=base, magento=base+1, baselinker=base+2, odoo=base+3,
    control=base+4; ``base_port=0`` picks free ports (the chosen ones are printed and served
    by ``GET /state`` on the control API)."""

    host: str = "127.0.0.1"
    base_port: int = 8100
    arbiter_url: str | None = None
    arbiter_token: str | None = None
    workspace: str = "demo"
    woo: WooCredentials = field(default_factory=WooCredentials)
    magento: MagentoCredentials = field(default_factory=MagentoCredentials)
    baselinker: BaseLinkerCredentials = field(default_factory=BaseLinkerCredentials)
    odoo: OdooCredentials = field(default_factory=OdooCredentials)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    order_interval_seconds: float = 2.0
    """Mean time between new shop orders; 0 turns the traffic generator off."""
    stock_interval_seconds: float = 20.0
    """Mean time between ERP stock changes; 0 turns them off."""
    integration_interval_seconds: float = 3.0
    bank_transfer_wait_seconds: float = 150.0
    """Mean time (±50 %) a bank-transfer order waits ``on-hold`` until the money arrives; in
    life hours or days, in the demo a few minutes: longer than the demo's 60 s SLA."""
    online_payment_seconds: float = 5.0
    """Mean time an online payment (Przelewy24) keeps its order ``pending``."""
    oms_import_statuses: tuple[str, ...] = ("processing", "completed")
    """The shop statuses BaseLinker's WooCommerce integration imports (its status settings):
    paid orders; an unpaid one is taken when it becomes paid, a cancelled one never."""
    report_seen: bool = False
    """Also report ``seen`` events (normally Arbiter's own pollers observe the systems)."""
    seed: int | None = None
    run_id: str | None = None
    """Prefix of every reported event id; defaults to one derived from the start time, so a
    restarted sandbox never reuses an event id already held by the workspace."""
    id_base: int | None = None
    """First order numbers start after it; defaults to one derived from the clock, so orders of
    a restarted sandbox never share numbers with those of an earlier run."""
    baselinker_rate_limit_per_minute: int = 100
    baselinker_journal_enabled: bool = True
    """BaseLinker enables ``getJournalList`` per account on request; until then it answers an
    empty list. False imitates an account without it."""
    webhook_max_failures: int = 7
    """Consecutive failed deliveries after which the shop disables its webhook."""
    request_timeout_seconds: float = 10.0
    """How long the integrations wait for an answer from a system."""
    reporter_flush_seconds: float = 1.0
    log_level: str = "warning"

    def resolved_run_id(self) -> str:
        if self.run_id:
            return self.run_id
        return format(int(time.time() * 1000), "x")

    def resolved_id_base(self) -> int:
        if self.id_base is not None:
            return self.id_base
        # seconds since late 2023: the clock grows faster than any run creates orders
        return (int(time.time()) - 1_700_000_000) // 10 * 10

    def port_for(self, index: int) -> int:
        return 0 if self.base_port == 0 else self.base_port + index


def free_port_block(size: int = len(SYSTEMS) + 1, host: str = "127.0.0.1") -> int:
    """A first port such that it and the next ``size - 1`` are free on ``host``: where a sandbox
    started by another process (the demo, the end-to-end tests) can take its fixed ports."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind((host, 0))
            base = int(probe.getsockname()[1])
        if base + size > 65535:
            continue
        taken: list[socket.socket] = []
        try:
            for port in range(base, base + size):
                sock = socket.socket()
                taken.append(sock)
                sock.bind((host, port))
        except OSError:
            continue
        finally:
            for sock in taken:
                sock.close()
        return base
    raise RuntimeError(f"no block of {size} free ports on {host}")
