"""Runnable imitations of a WooCommerce shop, a Magento 2 store, a BaseLinker account and an
Odoo ERP, with the integrations between them, a traffic generator and fault injection.

A separate program that speaks to Arbiter only over HTTP: nothing here imports ``app``,
``connectors`` or ``graph``.

    from sandbox import SandboxConfig, run
    run(SandboxConfig(base_port=8100, arbiter_url="http://127.0.0.1:8000", arbiter_token="..."))
"""

from sandbox.config import SandboxConfig
from sandbox.runtime import Sandbox, run, serve
from sandbox.topology import demo_topology

__all__ = ["Sandbox", "SandboxConfig", "demo_topology", "run", "serve"]
