"""What the shop, the Magento store and the OMS hold: plain in-memory records.

The ERP's records live in ``odoo_orm`` (Odoo's API is generic over models). Each store only
keeps data and answers questions about it; the HTTP imitations render it in their vendor's
format and the integrations move it between stores over HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class CatalogItem:
    sku: str
    name: str
    price: Decimal
    parent: str = ""
    """The SKU of the variable product this item is a variation of (WooCommerce keeps the
    parent, with no stock of its own, and one variation per size, each with SKU and stock)."""


CATALOG: tuple[CatalogItem, ...] = (
    CatalogItem("ABC-1", "Ceramic mug, white", Decimal("29.90")),
    CatalogItem("ABC-2", "Ceramic mug, black", Decimal("29.90")),
    CatalogItem("TEA-10", "Green tea, 100 g", Decimal("24.50")),
    CatalogItem("TEA-20", "Black tea, 250 g", Decimal("39.00")),
    CatalogItem("KTL-1", "Electric kettle 1.7 l", Decimal("149.00")),
    CatalogItem("CUP-6", "Espresso cups, set of 6", Decimal("89.99")),
    CatalogItem("BAG-3", "Canvas tote bag", Decimal("35.00")),
    CatalogItem("SPN-12", "Tea spoons, set of 12", Decimal("59.00")),
    CatalogItem("TSH-S", "Organic T-shirt - S", Decimal("79.00"), parent="TSH"),
    CatalogItem("TSH-M", "Organic T-shirt - M", Decimal("79.00"), parent="TSH"),
    CatalogItem("TSH-L", "Organic T-shirt - L", Decimal("84.00"), parent="TSH"),
)
VARIABLE_PRODUCTS = {"TSH": "Organic T-shirt"}
CURRENCY = "PLN"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Line:
    sku: str
    name: str
    quantity: int
    price: Decimal
    """Unit price before any discount."""
    discount: Decimal = Decimal("0.00")
    """The line's share of the order's coupon discount (WooCommerce's ``subtotal - total``)."""
    product_id: int = 0
    variation_id: int = 0
    """WooCommerce's ids: the product (the parent, for a variation) and the variation."""

    @property
    def subtotal(self) -> Decimal:
        return (self.price * self.quantity).quantize(CENT)

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount


def lines_total(lines: list[Line]) -> Decimal:
    return sum((line.total for line in lines), Decimal("0.00")).quantize(CENT)


@dataclass(frozen=True)
class Charge:
    """A WooCommerce shipping line or fee line: ``method_id`` is the shipping method
    (``flat_rate``, ``free_shipping``) or empty for a fee."""

    name: str
    total: Decimal
    method_id: str = ""


def percent_discount(lines: list[Line], percent: int) -> list[Line]:
    """The lines with a percentage coupon applied, per unit and rounded down to the cent.

    WooCommerce floors each line's discount in cents; flooring per unit instead keeps every
    discounted line a whole number of cents per unit, which is what the OMS stores (a unit price
    per product), so the shop's total and the OMS's agree to the cent.
    """
    result = []
    for line in lines:
        unit = (line.price * percent / 100).quantize(CENT, rounding="ROUND_FLOOR")
        result.append(replace(line, discount=unit * line.quantity))
    return result


# --- WooCommerce -----------------------------------------------------------------------------


@dataclass
class WooProduct:
    id: int
    sku: str
    name: str
    price: Decimal
    stock_quantity: int
    date_created: datetime
    date_modified: datetime
    manage_stock: bool = True
    type: str = "simple"
    """``simple``, ``variable`` (a parent: no stock of its own) or ``variation``."""
    parent_id: int = 0
    variations: list[int] = field(default_factory=list)

    @property
    def stock_status(self) -> str:
        if not self.manage_stock:
            return "instock"
        return "instock" if self.stock_quantity > 0 else "outofstock"


PAYMENT_METHODS = {
    "bacs": "Direct bank transfer",
    "przelewy24": "Przelewy24",
    "cod": "Cash on delivery",
}


@dataclass
class WooOrder:
    id: int
    status: str
    lines: list[Line]
    date_created: datetime
    date_modified: datetime
    email: str
    currency: str = CURRENCY
    payment_method: str = "przelewy24"
    shipping: list[Charge] = field(default_factory=list)
    fees: list[Charge] = field(default_factory=list)
    coupon: str = ""
    date_paid: datetime | None = None

    @property
    def number(self) -> str:
        # WooCommerce's order number is the post id unless a plugin renumbers orders
        return str(self.id)

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0.00"))

    @property
    def shipping_total(self) -> Decimal:
        return sum((c.total for c in self.shipping), Decimal("0.00"))

    @property
    def fee_total(self) -> Decimal:
        return sum((c.total for c in self.fees), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        """As WooCommerce computes it: line totals (after coupons), shipping and fees (prices
        include tax, so no tax is added on top)."""
        return lines_total(self.lines) + self.shipping_total + self.fee_total


PAID_STATUSES = frozenset({"processing", "completed"})
"""Statuses in which WooCommerce has recorded the payment (``date_paid``)."""

ShopListener = Callable[[str, "WooOrder | WooProduct"], None]
"""Told ``(topic, resource)`` on every change, e.g. ``("order.created", order)``."""


@dataclass
class ShopStore:
    first_order_id: int
    products: dict[int, WooProduct] = field(default_factory=dict)
    orders: dict[int, WooOrder] = field(default_factory=dict)
    listeners: list[ShopListener] = field(default_factory=list)
    _next_order: int = 0

    def _notify(self, topic: str, resource: WooOrder | WooProduct) -> None:
        for listener in self.listeners:
            listener(topic, resource)

    def _new_product(self, sku: str, name: str, price: Decimal, moment: datetime) -> WooProduct:
        product_id = 10 + len(self.products) * 3  # post ids interleave with other posts
        product = WooProduct(product_id, sku, name, price, 0, moment, moment)
        self.products[product_id] = product
        return product

    def add_product(self, item: CatalogItem, stock: int, moment: datetime) -> WooProduct:
        if not item.parent:
            product = self._new_product(item.sku, item.name, item.price, moment)
            product.stock_quantity = stock
            return product
        parent = self.product_by_sku(item.parent) or self._new_product(
            item.parent, VARIABLE_PRODUCTS.get(item.parent, item.name), item.price, moment
        )
        parent.type, parent.manage_stock = "variable", False
        variation = self._new_product(item.sku, item.name, item.price, moment)
        variation.type, variation.parent_id, variation.stock_quantity = (
            "variation",
            parent.id,
            stock,
        )
        parent.variations.append(variation.id)
        return variation

    def product_by_sku(self, sku: str) -> WooProduct | None:
        return next((p for p in self.products.values() if p.sku == sku), None)

    def line_for(self, product: WooProduct, quantity: int) -> Line:
        """An order line for ``quantity`` of a simple product or a variation."""
        if product.type == "variation":
            return Line(
                product.sku,
                product.name,
                quantity,
                product.price,
                product_id=product.parent_id,
                variation_id=product.id,
            )
        return Line(product.sku, product.name, quantity, product.price, product_id=product.id)

    def create_order(
        self,
        lines: list[Line],
        moment: datetime,
        *,
        status: str = "processing",
        email: str = "",
        payment_method: str = "przelewy24",
        shipping: list[Charge] | None = None,
        fees: list[Charge] | None = None,
        coupon: str = "",
    ) -> WooOrder:
        self._next_order += 1
        order_id = self.first_order_id + self._next_order
        lines = [
            line
            if line.product_id or (p := self.product_by_sku(line.sku)) is None
            else replace(self.line_for(p, line.quantity), discount=line.discount)
            for line in lines
        ]
        order = WooOrder(
            order_id,
            status,
            lines,
            moment,
            moment,
            email or f"buyer{order_id}@example.com",
            payment_method=payment_method,
            shipping=list(shipping or []),
            fees=list(fees or []),
            coupon=coupon,
            date_paid=moment if status in PAID_STATUSES else None,
        )
        self.orders[order_id] = order
        self._notify("order.created", order)
        return order

    def set_order_status(self, order: WooOrder, status: str, moment: datetime) -> None:
        order.status = status
        order.date_modified = moment
        if status in PAID_STATUSES and order.date_paid is None:
            order.date_paid = moment
        self._notify("order.updated", order)

    def set_stock(self, product: WooProduct, quantity: int, moment: datetime) -> None:
        if product.stock_quantity == quantity:
            return
        product.stock_quantity = quantity
        product.date_modified = moment
        self._notify("product.updated", product)


# --- Magento 2 -------------------------------------------------------------------------------


@dataclass
class MagentoOrder:
    entity_id: int
    increment_id: str
    status: str
    lines: list[Line]
    created_at: datetime
    updated_at: datetime
    email: str
    currency: str = CURRENCY

    @property
    def state(self) -> str:
        return "complete" if self.status == "complete" else self.status

    @property
    def grand_total(self) -> Decimal:
        return lines_total(self.lines)


@dataclass
class MagentoSourceItem:
    sku: str
    quantity: int
    source_code: str = "default"

    @property
    def status(self) -> int:
        return 1 if self.quantity > 0 else 0


@dataclass
class MagentoStore:
    first_order_id: int
    orders: dict[int, MagentoOrder] = field(default_factory=dict)
    source_items: dict[str, MagentoSourceItem] = field(default_factory=dict)

    def create_order(self, lines: list[Line], moment: datetime) -> MagentoOrder:
        entity_id = len(self.orders) + 1
        increment = f"{self.first_order_id + entity_id:09d}"
        order = MagentoOrder(
            entity_id, increment, "processing", lines, moment, moment, f"m{entity_id}@example.com"
        )
        self.orders[entity_id] = order
        return order


# --- BaseLinker ------------------------------------------------------------------------------

BL_STATUS_NEW = 1001
BL_STATUS_IN_ERP = 1002
BL_STATUS_ERP_ERROR = 1003
BL_STATUS_DONE = 1004
BL_STATUSES = {
    BL_STATUS_NEW: ("New orders", "#5cb85c"),
    BL_STATUS_IN_ERP: ("Sent to ERP", "#337ab7"),
    BL_STATUS_ERP_ERROR: ("ERP error", "#d9534f"),
    BL_STATUS_DONE: ("Completed", "#777777"),
}
BL_LOG_ORDER_CREATED = 1
BL_LOG_STATUS_CHANGE = 18
BL_SHOP_SOURCE_ID = 1


@dataclass
class BlOrder:
    order_id: int
    shop_order_id: int
    external_order_id: str
    status_id: int
    lines: list[Line]
    date_add: datetime
    date_confirmed: datetime
    date_in_status: datetime
    email: str
    currency: str = CURRENCY
    payment_done: Decimal = Decimal("0")
    delivery_method: str = ""
    delivery_price: Decimal = Decimal("0.00")
    """Gross delivery cost; the shop's fees (cash on delivery) are added to it: BaseLinker's
    order has product lines and one delivery price, nothing else that costs money."""
    payment_method: str = ""
    # the OMS's own bookkeeping of its push to the ERP
    erp_attempts: int = 0
    erp_done: bool = False

    @property
    def total(self) -> Decimal:
        return lines_total(self.lines) + self.delivery_price


@dataclass
class BlProduct:
    product_id: int
    sku: str
    name: str
    price: Decimal
    stock: int


@dataclass(frozen=True)
class BlLog:
    id: int
    order_id: int
    log_type: int
    object_id: int
    date: datetime


@dataclass
class OmsStore:
    first_order_id: int
    inventory_id: int
    warehouse: str
    orders: dict[int, BlOrder] = field(default_factory=dict)
    products: dict[int, BlProduct] = field(default_factory=dict)
    journal: list[BlLog] = field(default_factory=list)

    def add_product(self, item: CatalogItem, stock: int) -> BlProduct:
        product_id = 5000 + len(self.products) + 1
        product = BlProduct(product_id, item.sku, item.name, item.price, stock)
        self.products[product_id] = product
        return product

    def product_by_sku(self, sku: str) -> BlProduct | None:
        return next((p for p in self.products.values() if p.sku == sku), None)

    def by_shop_order(self, shop_order_id: int) -> BlOrder | None:
        return next((o for o in self.orders.values() if o.shop_order_id == shop_order_id), None)

    def _log(self, order_id: int, log_type: int, object_id: int, moment: datetime) -> None:
        self.journal.append(BlLog(len(self.journal) + 1, order_id, log_type, object_id, moment))

    def import_order(
        self,
        *,
        shop_order_id: int,
        number: str,
        lines: list[Line],
        date_add: datetime,
        email: str,
        currency: str,
        paid: bool,
        moment: datetime,
        delivery_method: str = "",
        delivery_price: Decimal = Decimal("0.00"),
        payment_method: str = "",
    ) -> BlOrder:
        """An order the shop integration fetched, confirmed on arrival."""
        order_id = self.first_order_id + len(self.orders) + 1
        order = BlOrder(
            order_id=order_id,
            shop_order_id=shop_order_id,
            external_order_id=number,
            status_id=BL_STATUS_NEW,
            lines=lines,
            date_add=date_add,
            date_confirmed=moment,
            date_in_status=moment,
            email=email,
            currency=currency,
            delivery_method=delivery_method,
            delivery_price=delivery_price,
            payment_method=payment_method,
        )
        order.payment_done = order.total if paid else Decimal("0")
        self.orders[order_id] = order
        self._log(order_id, BL_LOG_ORDER_CREATED, 0, moment)
        return order

    def set_status(self, order: BlOrder, status_id: int, moment: datetime) -> None:
        if order.status_id == status_id:
            return
        order.status_id = status_id
        order.date_in_status = moment
        self._log(order.order_id, BL_LOG_STATUS_CHANGE, status_id, moment)
