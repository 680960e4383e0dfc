"""Life in the systems: customers ordering in the shop (and the Magento store), paying for their
orders or not, orders being completed, the warehouse changing stock in the ERP.

An ordinary shop day: a customer pays online (``pending`` for seconds, then ``processing``, now
and then ``failed``), by bank transfer (``on-hold`` until the money arrives, minutes in the demo,
hours in life; some never pay and the shop cancels the order) or cash on delivery
(``processing`` at once, with a fee). Orders ship at a flat rate, free above a threshold; some
use a 10 % coupon.

Orders do not draw stock down anywhere: stock changes start in the ERP only, so every
quantity the shop shows is one the ERP held, unless an integration bends it.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.stores import CATALOG, Charge, Line, WooOrder, lines_total, percent_discount
from sandbox.world import World

log = logging.getLogger("sandbox.traffic")

SHIPPING = (
    Charge("InPost Paczkomat 24/7", Decimal("13.99"), "flat_rate"),
    Charge("Kurier DPD", Decimal("16.99"), "flat_rate"),
)
FREE_SHIPPING = Charge("Darmowa dostawa", Decimal("0.00"), "free_shipping")
FREE_SHIPPING_FROM = Decimal("300.00")
COD_FEE = Charge("Opłata za pobranie", Decimal("5.00"))
COUPON, COUPON_PERCENT, COUPON_SHARE = "JESIEN10", 10, 0.2
# share of customers per payment method, and of each that never pays
PAYMENT_SHARES = (("przelewy24", 0.45), ("bacs", 0.35), ("cod", 0.20))
ONLINE_FAILED_SHARE = 0.1
BANK_TRANSFER_UNPAID_SHARE = 0.15


def random_lines(world: World) -> list[Line]:
    items = world.rng.sample(CATALOG, k=world.rng.randint(1, 3))
    return [Line(i.sku, i.name, world.rng.randint(1, 3), i.price) for i in items]


def checkout(world: World, lines: list[Line], payment_method: str) -> dict[str, Any]:
    """What the storefront's checkout puts on an order: coupon, shipping, fees, status."""
    coupon = ""
    if world.rng.random() < COUPON_SHARE:
        coupon, lines = COUPON, percent_discount(lines, COUPON_PERCENT)
    shipping = world.rng.choice(SHIPPING)
    if lines_total(lines) >= FREE_SHIPPING_FROM:
        shipping = FREE_SHIPPING
    return {
        "lines": lines,
        "coupon": coupon,
        "shipping": [shipping],
        "fees": [COD_FEE] if payment_method == "cod" else [],
        "payment_method": payment_method,
        "status": {"bacs": "on-hold", "przelewy24": "pending"}.get(payment_method, "processing"),
    }


def place_order(
    world: World, lines: list[Line] | None = None, *, payment_method: str = "cod"
) -> WooOrder:
    """A customer checks out in the shop (no REST call: the storefront writes the order).

    Cash on delivery by default: the order is ``processing`` at once, as the control API's
    orders must be."""
    fields = checkout(world, lines or random_lines(world), payment_method)
    return world.shop.create_order(
        fields.pop("lines"), world.clock(), email="", status=fields.pop("status"), **fields
    )


def customer_order(world: World) -> WooOrder:
    """One customer of an ordinary day, and what becomes of their payment."""
    draw, method = world.rng.random(), PAYMENT_SHARES[-1][0]
    for name, share in PAYMENT_SHARES:
        if draw < share:
            method = name
            break
        draw -= share
    order = place_order(world, payment_method=method)
    config = world.config
    if method == "bacs":
        wait = config.bank_transfer_wait_seconds * world.rng.uniform(0.5, 1.5)
        unpaid = world.rng.random() < BANK_TRANSFER_UNPAID_SHARE
        schedule_payment(world, order, wait, "cancelled" if unpaid else "processing")
    elif method == "przelewy24":
        wait = config.online_payment_seconds * world.rng.uniform(0.5, 1.5)
        failed = world.rng.random() < ONLINE_FAILED_SHARE
        schedule_payment(world, order, wait, "failed" if failed else "processing")
    return order


def schedule_payment(world: World, order: WooOrder, seconds: float, status: str) -> None:
    due = world.clock() + timedelta(seconds=seconds)
    heapq.heappush(world.payments, (due, order.id, status))


def settle_payments(world: World) -> int:
    """Apply the payment outcomes that are due; an order someone moved on meanwhile is left."""
    done = 0
    now = world.clock()
    while world.payments and world.payments[0][0] <= now:
        _due, order_id, status = heapq.heappop(world.payments)
        order = world.shop.orders.get(order_id)
        if order is not None and order.status in ("pending", "on-hold"):
            world.shop.set_order_status(order, status, now)
            done += 1
    return done


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
            customer_order(world)
            count += 1
            if count % 3 == 0 and not world.is_down("magento"):
                world.magento.create_order(random_lines(world), world.clock())
            if count % 4 == 0:
                complete_an_old_order(world)
        except Exception:  # traffic must not stop for one odd order
            log.exception("traffic generator failed to place an order")


async def payments(world: World) -> None:
    """Money arriving (or not): orders waiting for payment move on when their time comes."""
    while True:
        await asyncio.sleep(0.5)
        if not world.is_down("shop"):  # the payment notice waits for the shop to be back
            settle_payments(world)


def complete_an_old_order(world: World) -> None:
    """The shop ships the order paid longest ago, once it had time to travel to the warehouse
    (an order paid a moment ago is not shipped yet)."""
    shipped_after = timedelta(seconds=10 * world.config.integration_interval_seconds)
    now = world.clock()
    paid = sorted(
        (o for o in world.shop.orders.values() if o.status == "processing" and o.date_paid),
        key=lambda o: (o.date_paid or now, o.id),
    )
    if len(paid) > 5 and (paid[0].date_paid or now) <= now - shipped_after:
        world.shop.set_order_status(paid[0], "completed", now)


async def stock(world: World) -> None:
    interval = world.config.stock_interval_seconds
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(world.rng.uniform(0.5 * interval, 1.5 * interval))
        if not world.is_down("erp"):
            change_stock(world)
