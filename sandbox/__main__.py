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
    parser.add_argument(
        "--arbiter-url",
        default=os.environ.get("SANDBOX_ARBITER_URL"),
        help="where the integrations report their calls (env SANDBOX_ARBITER_URL)",
    )
    parser.add_argument(
        "--arbiter-token",
        default=os.environ.get("SANDBOX_ARBITER_TOKEN"),
        help="bearer token for Arbiter's events API (env SANDBOX_ARBITER_TOKEN)",
    )
    parser.add_argument("--workspace", default=defaults.workspace)
    parser.add_argument(
        "--webhook-url",
        default=os.environ.get("SANDBOX_WEBHOOK_URL"),
        help="the shop's webhook delivery URL (env SANDBOX_WEBHOOK_URL)",
    )
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("SANDBOX_WEBHOOK_SECRET"),
        help="the shop's webhook secret (env SANDBOX_WEBHOOK_SECRET)",
    )
    # (option, environment variable, default, help): numbers a parent process may set
    numbers = (
        ("--order-interval", "SANDBOX_ORDER_INTERVAL", defaults.order_interval_seconds,
         "mean seconds between new shop orders (0: none)"),
        ("--stock-interval", "SANDBOX_STOCK_INTERVAL", defaults.stock_interval_seconds,
         "mean seconds between ERP stock changes (0: none)"),
        ("--integration-interval", "SANDBOX_INTEGRATION_INTERVAL",
         defaults.integration_interval_seconds, "seconds between two runs of each integration"),
        ("--bank-transfer-wait", "SANDBOX_BANK_TRANSFER_WAIT",
         defaults.bank_transfer_wait_seconds,
         "mean seconds a bank-transfer order waits on-hold until paid"),
    )  # fmt: skip
    for option, env, default, text in numbers:
        parser.add_argument(
            option, type=float, default=_env_float(env, default), help=f"{text} (env {env})"
        )
    parser.add_argument("--report-seen", action="store_true", help="also report 'seen' events")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--no-journal", action="store_true", help="BaseLinker account without getJournalList"
    )
    parser.add_argument("--log-level", default=defaults.log_level)
    args = parser.parse_args(argv)
    return SandboxConfig(
        host=args.host,
        base_port=args.base_port,
        arbiter_url=args.arbiter_url,
        arbiter_token=args.arbiter_token,
        workspace=args.workspace,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        order_interval_seconds=args.order_interval,
        stock_interval_seconds=args.stock_interval,
        integration_interval_seconds=args.integration_interval,
        bank_transfer_wait_seconds=args.bank_transfer_wait,
        report_seen=args.report_seen,
        seed=args.seed,
        baselinker_journal_enabled=not args.no_journal,
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> None:
    run(parse_args(argv))


if __name__ == "__main__":
    main()
