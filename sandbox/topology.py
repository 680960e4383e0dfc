"""The demo workspace's topology for the sandbox's shop, OMS and ERP (CONTRACT.md's example).

>>> topo = demo_topology(sla_seconds=60)
>>> [(link["flow"], link["from"], link["to"], link["sla_seconds"]) for link in topo["links"]][:2]
[('order', 'shop', 'oms', 60.0), ('order', 'oms', 'erp', 60.0)]
>>> demo_topology({"erp": "odoo"}, sla_seconds={"order": 120})["links"][1]["to"]
'odoo'
>>> topo["systems"][0]["states"]["waiting"]
['pending', 'on-hold']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DEFAULT_IDS = {"shop": "shop", "oms": "oms", "erp": "erp"}

_SYSTEMS = (
    ("shop", "woocommerce", "Shop agency"),
    ("oms", "baselinker", "BaseLinker"),
    ("erp", "odoo", "ERP partner"),
)
# What each system's order states mean (CONTRACT.md, ``states``), as the sandbox's systems use
# them: the shop's unpaid orders wait (bank transfer on-hold, online payment pending) and its
# cancelled and failed ones end there; Odoo's quotations are not orders yet. BaseLinker's
# statuses are the account's own, and none of the sandbox account's holds an order back or
# ends it, so the OMS declares none.
_STATES: dict[str, dict[str, list[str]]] = {
    "shop": {
        "waiting": ["pending", "on-hold"],
        "closed": ["cancelled", "failed", "refunded", "trash"],
    },
    "erp": {"waiting": ["draft", "sent"], "closed": ["cancel"]},
}
# flow, from, to, initiator, owner, default SLA
_LINKS = (
    ("order", "shop", "oms", "to", "BaseLinker", 600.0),
    ("order", "oms", "erp", "from", "ERP partner", 900.0),
    ("stock", "erp", "oms", "to", "BaseLinker", 1800.0),
    ("stock", "oms", "shop", "from", "BaseLinker", 900.0),
)


def demo_topology(
    ids: Mapping[str, str] | None = None,
    *,
    sla_seconds: float | Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The topology JSON for ``PUT /api/v1/workspaces/{ws}/topology``.

    ``ids`` renames the systems (roles ``shop``, ``oms``, ``erp``). ``sla_seconds`` shortens the
    SLAs for a demo: one number for every link, or a mapping whose keys are a flow (``"order"``)
    or one link (``"order:shop>oms"``, by role), the more specific key winning.
    """
    names = {**DEFAULT_IDS, **(ids or {})}

    def sla(flow: str, source: str, target: str, default: float) -> float:
        if sla_seconds is None:
            return default
        if isinstance(sla_seconds, int | float):
            return float(sla_seconds)
        for key in (f"{flow}:{source}>{target}", flow):
            if key in sla_seconds:
                return float(sla_seconds[key])
        return default

    return {
        "systems": [
            {"id": names[role], "kind": kind, "vendor": vendor}
            | ({"states": _STATES[role]} if role in _STATES else {})
            for role, kind, vendor in _SYSTEMS
        ],
        "links": [
            {
                "flow": flow,
                "from": names[source],
                "to": names[target],
                "initiator": initiator,
                "owner": owner,
                "sla_seconds": sla(flow, source, target, default),
            }
            for flow, source, target, initiator, owner, default in _LINKS
        ],
    }
