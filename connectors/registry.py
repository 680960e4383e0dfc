"""The registry: which connector class serves each kind, and :func:`build_connector`.

Apart from :mod:`connectors.base` because the vendor modules import that one, and this one
imports them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from connectors.base import Connector, Sleep, credential_problems, utc_now
from connectors.baselinker import BaseLinkerConnector
from connectors.http import RetryPolicy
from connectors.magento import MagentoConnector
from connectors.odoo import OdooConnector
from connectors.woocommerce import WooCommerceConnector

CONNECTORS: dict[str, Callable[..., Connector]] = {
    "woocommerce": WooCommerceConnector,
    "magento": MagentoConnector,
    "baselinker": BaseLinkerConnector,
    "odoo": OdooConnector,
}
"""The connector class of each kind (credentials: :data:`connectors.base.CREDENTIAL_FIELDS`)."""


def build_connector(
    kind: str,
    *,
    system_id: str,
    base_url: str,
    credentials: Mapping[str, str],
    client: httpx.AsyncClient,
    upstream: str | None = None,
    order_flow: str = "order",
    stock_flow: str = "stock",
    clock: Callable[[], datetime] = utc_now,
    lookback: timedelta = timedelta(hours=24),
    retry: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
) -> Connector:
    """The connector for ``kind``; ValueError for an unknown kind or unusable credentials."""
    problems = credential_problems(kind, credentials)
    if problems:
        raise ValueError(f"{kind} connection: " + "; ".join(problems))
    common: dict[str, Any] = {
        "system_id": system_id,
        "base_url": base_url,
        "credentials": credentials,
        "client": client,
        "upstream": upstream,
        "order_flow": order_flow,
        "stock_flow": stock_flow,
        "clock": clock,
        "lookback": lookback,
        "retry": retry or RetryPolicy(),
        "sleep": sleep,
    }
    return CONNECTORS[kind](**common)
