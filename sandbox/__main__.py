"""``python -m sandbox``: run the sandbox until Ctrl+C."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from sandbox.config import SandboxConfig
from sandbox.runtime import run


def _env_float(name: str, default: float) -> float:
    """A number from the environment: how a parent process (the demo, bench/realism.py) tunes
    the sandbox it starts through ``arbiter serve`` without a command line of its own."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SystemExit(f"sandbox: {name} must be a number, not {raw!r}") from exc


def parse_args(argv: Sequence[str] | None = None) -> SandboxConfig:
    defaults = SandboxConfig()
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Imitations of WooCommerce, Magento 2, BaseLinker and Odoo on loopback ports, "
        "with the integrations between them, traffic and fault injection.",
    )
    parser.add_argument("--host", default=defaults.host, help="loopback address to listen on")
    parser.add_argument(
        "--base-port",
        type=int,
        default=defaults.base_port,
        help="shop=base, magento=+1, baselinker=+2, odoo=+3, control=+4; 0 picks free ports",
    )
    # (option, environment variable, help): where to report, set by a parent process
    addresses = (
        ("--arbiter-url", "SANDBOX_ARBITER_URL", "where the integrations report their calls"),
        ("--arbiter-token", "SANDBOX_ARBITER_TOKEN", "bearer token for Arbiter's events API"),
        ("--webhook-url", "SANDBOX_WEBHOOK_URL", "the shop's webhook delivery URL"),
        ("--webhook-secret", "SANDBOX_WEBHOOK_SECRET", "the shop's webhook secret"),
    )
    for option, env, text in addresses:
        parser.add_argument(option, default=os.environ.get(env), help=f"{text} (env {env})")
    parser.add_argument("--workspace", default=defaults.workspace)
    # (option, environment variable, default, help): numbers a parent process may set
    numbers = (
        ("--order-interval", "SANDBOX_ORDER_INTERVAL", "order_interval_seconds",
         "mean seconds between new shop orders (0: none)"),
        ("--stock-interval", "SANDBOX_STOCK_INTERVAL", "stock_interval_seconds",
         "mean seconds between ERP stock changes (0: none)"),
        ("--integration-interval", "SANDBOX_INTEGRATION_INTERVAL",
         "integration_interval_seconds", "seconds between two runs of each integration"),
        ("--bank-transfer-wait", "SANDBOX_BANK_TRANSFER_WAIT", "bank_transfer_wait_seconds",
         "mean seconds a bank-transfer order waits on-hold until paid"),
    )  # fmt: skip
    for option, env, name, text in numbers:
        default = _env_float(env, getattr(defaults, name))
        parser.add_argument(
            option, dest=name, type=float, default=default, help=f"{text} (env {env})"
        )
    parser.add_argument("--report-seen", action="store_true", help="also report 'seen' events")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--no-journal",
        dest="baselinker_journal_enabled",
        action="store_false",
        help="BaseLinker account without getJournalList",
    )
    parser.add_argument("--log-level", default=defaults.log_level)
    # Each option's dest is the name of the SandboxConfig field it sets.
    return SandboxConfig(**vars(parser.parse_args(argv)))


def main(argv: Sequence[str] | None = None) -> None:
    run(parse_args(argv))


if __name__ == "__main__":
    main()
