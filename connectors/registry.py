"""The registry: which connector class serves each kind, and :func:`build_connector`.

Apart from :mod:`connectors.base` because the vendor modules import that one, and this one
imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import Connector, credential_problems
from connectors.baselinker import BaseLinkerConnector
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


def build_connector(kind: str, *, credentials: Mapping[str, str], **options: Any) -> Connector:
    """The connector for ``kind``, given the keyword arguments of its constructor
    (:class:`connectors.polling.PollingConnector`: system_id, base_url, client, upstream, ...);
    ValueError for an unknown kind or unusable credentials."""
    problems = credential_problems(kind, credentials)
    if problems:
        raise ValueError(f"{kind} connection: " + "; ".join(problems))
    return CONNECTORS[kind](credentials=credentials, **options)
