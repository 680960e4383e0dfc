"""What an entity's ``state`` in a system means for the flows: waiting, closed, or moving on.

An order paid by bank transfer waits in the shop (WooCommerce ``on-hold``) until the money
arrives, and the OMS only takes it once it is ``processing``: the hop's SLA clock starts when
the order leaves its waiting states, not when it was placed. An order cancelled, or whose
payment failed, before it left a system is never meant to travel on: its journey ends there
and nobody is blamed.

Each connector kind has the defaults of the real product; a topology's system may set its own
(``states``, CONTRACT.md), which replaces the defaults of its kind. BaseLinker's statuses are
defined per account, and ``generic`` systems are anything, so those have none. State names are
compared without case, and WooCommerce's internal ``wc-`` prefix is ignored.

>>> rules = state_rules("woocommerce", None)
>>> rules.meaning("on-hold"), rules.meaning("wc-processing"), rules.meaning("Cancelled")
('waiting', None, 'closed')
>>> rules.source
'default'
>>> state_rules("baselinker", None).known
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graph.model import SystemStates

Meaning = Literal["waiting", "closed"]
RuleSource = Literal["configured", "default", "learned", "none"]

KIND_DEFAULTS: dict[str, SystemStates] = {
    # WooCommerce order statuses (REST API ``status``): pending payment and on-hold (awaiting
    # a bank transfer or a manual check) are not yet paid; checkout-draft is a block checkout
    # still being filled in.
    "woocommerce": SystemStates(
        waiting=["pending", "on-hold", "checkout-draft"],
        closed=["cancelled", "failed", "refunded", "trash"],
    ),
    # Magento 2 order states/statuses: payment not yet confirmed, or put on hold by the merchant.
    "magento": SystemStates(
        waiting=["pending_payment", "payment_review", "holded"],
        closed=["canceled", "closed"],
    ),
    # Odoo sale.order ``state``: quotations (draft, sent) are not orders yet.
    "odoo": SystemStates(waiting=["draft", "sent"], closed=["cancel"]),
}


def normal_state(state: str) -> str:
    """The spelling states are compared in.

    >>> normal_state(" WC-On-Hold ")
    'on-hold'
    """
    return state.strip().casefold().removeprefix("wc-")


@dataclass(frozen=True, slots=True)
class StateRules:
    """One system's waiting and closed states, and where the rule came from."""

    waiting: frozenset[str] = frozenset()
    closed: frozenset[str] = frozenset()
    source: RuleSource = "none"

    @property
    def known(self) -> bool:
        return bool(self.waiting or self.closed)

    def meaning(self, state: str | None) -> Meaning | None:
        if state is None or not self.known:
            return None
        name = normal_state(state)
        if name in self.waiting:
            return "waiting"
        if name in self.closed:
            return "closed"
        return None


def state_rules(kind: str, configured: SystemStates | None) -> StateRules:
    """The rules of a system of ``kind``: its own ``states`` when set, else the kind's defaults."""
    source: RuleSource
    if configured is not None:
        chosen, source = configured, "configured"
    elif kind in KIND_DEFAULTS:
        chosen, source = KIND_DEFAULTS[kind], "default"
    else:
        return StateRules()
    return StateRules(
        frozenset(normal_state(s) for s in chosen.waiting),
        frozenset(normal_state(s) for s in chosen.closed),
        source,
    )
