"""Life in the systems: customers ordering in the shop (and the Magento store), orders being
completed, the warehouse changing stock in the ERP.

Orders do not draw stock down anywhere: stock changes start in the ERP only, so every
quantity the shop shows is one the ERP held, unless an integration bends it.
"""

from __future__ import annotations

import asyncio
import logging

from sandbox.stores import CATALOG, Line, WooOrder
from sandbox.world import World

log = logging.getLogger("sandbox.traffic")


def random_lines(world: World) -> list[Line]:
    items = world.rng.sample(CATALOG, k=world.rng.randint(1, 3))
    return [Line(i.sku, i.name, world.rng.randint(1, 3), i.price) for i in items]


def place_order(world: World, lines: list[Line] | None = None) -> WooOrder:
    """A customer checks out in the shop (no REST call: the storefront writes the order)."""
    return world.shop.create_order(lines or random_lines(world), world.clock())


def change_stock(world: World) -> tuple[str, int]:
    item = world.rng.choice(CATALOG)
    current = world.erp.stock().get(item.sku, 0)
    quantity = max(0, current + world.rng.choice([-4, -3, -2, -1, 2, 5, 10]))
    world.erp.set_stock(item.sku, quantity)
    return item.sku, quantity


async def orders(world: World) -> None:
    interval = world.config.order_interval_seconds
    if interval <= 0:
        return
    count = 0
    while True:
        await asyncio.sleep(world.rng.uniform(0.5 * interval, 1.5 * interval))
        if world.is_down("shop"):
            continue  # a shop that is down takes no orders
        try:
            place_order(world)
            count += 1
            if count % 3 == 0 and not world.is_down("magento"):
                world.magento.create_order(random_lines(world), world.clock())
            if count % 4 == 0:
                _complete_an_old_order(world)
        except Exception:  # traffic must not stop for one odd order
            log.exception("traffic generator failed to place an order")


def _complete_an_old_order(world: World) -> None:
    processing = [o for o in world.shop.orders.values() if o.status == "processing"]
    if len(processing) > 5:
        world.shop.set_order_status(processing[0], "completed", world.clock())


async def stock(world: World) -> None:
    interval = world.config.stock_interval_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(world.rng.uniform(0.5 * interval, 1.5 * interval))
        if not world.is_down("erp"):
            change_stock(world)
