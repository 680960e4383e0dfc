"""The rest of WooCommerce REST v3 that clients call around orders and products: order notes
and refunds, deleting orders, product categories, the system status, the namespace index and
creating webhooks. Shapes follow the WooCommerce REST API documentation; the official
``woocommerce`` client's calls are answered as the real product answers them
(``tests/sandbox/test_woo_client.py``).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response

from sandbox import timefmt
from sandbox.stores import WooOrder
from sandbox.woo_format import PREFIX, WooError, order_json, page
from sandbox.woo_webhooks import WooWebhook
from sandbox.world import World

WC_VERSION = "9.4.0"
TOPICS = {
    f"{resource}.{event}"
    for resource in ("order", "product", "customer", "coupon")
    for event in ("created", "updated", "deleted", "restored")
}


@dataclass
class Extras:
    """What only these endpoints keep: notes, refunds, webhooks created over the API."""

    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refunds: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: list[WooWebhook] = field(default_factory=list)
    next_id: int = 5000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.") from exc
    if not isinstance(body, dict):
        raise WooError(400, "rest_invalid_json", "Invalid JSON body passed.")
    return body


def _missing(*names: str) -> WooError:
    return WooError(
        400,
        "rest_missing_callback_param",
        f"Missing parameter(s): {', '.join(names)}",
        params=list(names),
    )


def add_more_routes(
    app: FastAPI, world: World, base: Callable[[], str], order_of: Callable[[int], WooOrder]
) -> None:
    shop = world.shop
    extras = Extras()

    def stamp(moment: datetime) -> dict[str, str]:
        return {"date_created": timefmt.woo(moment), "date_created_gmt": timefmt.woo(moment)}

    @app.get(PREFIX)
    @app.get(PREFIX + "/")
    async def index() -> Response:
        routes = sorted(
            {
                getattr(route, "path", "").removeprefix("/wp-json")
                for route in app.routes
                if getattr(route, "path", "").startswith(PREFIX)
            }
        )
        return JSONResponse(
            {
                "namespace": "wc/v3",
                "routes": {path: {"namespace": "wc/v3"} for path in routes},
                "_links": {"up": [{"href": f"{base()}/wp-json/"}]},
            }
        )

    # --- orders: delete, notes, refunds -------------------------------------------------------

    @app.delete(PREFIX + "/orders/{order_id:int}")
    async def delete_order(order_id: int, request: Request) -> Response:
        order = order_of(order_id)
        shown = order_json(order, base())
        if request.query_params.get("force") in ("true", "1"):
            shop.orders.pop(order_id, None)
        else:
            shop.set_order_status(order, "trash", world.clock())
            shown = order_json(order, base())
        return JSONResponse(shown)

    def newest_first(kept: dict[int, list[dict[str, Any]]]) -> Callable[[int], Awaitable[Response]]:
        """The route that lists what an order keeps (its notes, its refunds), newest first."""

        async def listed(order_id: int) -> Response:
            order_of(order_id)
            return JSONResponse(list(reversed(kept.get(order_id, []))))

        return listed

    app.get(PREFIX + "/orders/{order_id:int}/notes")(newest_first(extras.notes))
    app.get(PREFIX + "/orders/{order_id:int}/refunds")(newest_first(extras.refunds))

    @app.post(PREFIX + "/orders/{order_id:int}/notes")
    async def add_note(order_id: int, request: Request) -> Response:
        order_of(order_id)
        body = await _body(request)
        if not body.get("note"):
            raise _missing("note")
        note_id = extras.new_id()
        note = {
            "id": note_id,
            "author": "WooCommerce",
            **stamp(world.clock()),
            "note": str(body["note"]),
            "customer_note": bool(body.get("customer_note", False)),
            "_links": {
                "self": [{"href": f"{base()}{PREFIX}/orders/{order_id}/notes/{note_id}"}],
                "up": [{"href": f"{base()}{PREFIX}/orders/{order_id}"}],
            },
        }
        extras.notes.setdefault(order_id, []).append(note)
        return JSONResponse(note, status_code=201)

    @app.post(PREFIX + "/orders/{order_id:int}/refunds")
    async def add_refund(order_id: int, request: Request) -> Response:
        order = order_of(order_id)
        body = await _body(request)
        try:
            amount = Decimal(str(body.get("amount", "0")))
        except InvalidOperation as exc:
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): amount") from exc
        refunded = sum((Decimal(r["amount"]) for r in extras.refunds.get(order_id, [])), Decimal(0))
        if amount <= 0 or amount + refunded > order.total:
            raise WooError(
                500, "woocommerce_rest_cannot_create_order_refund", "Invalid refund amount."
            )
        refund = {
            "id": extras.new_id(),
            **stamp(world.clock()),
            "amount": f"{amount:.2f}",
            "reason": str(body.get("reason", "")),
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": [],
        }
        extras.refunds.setdefault(order_id, []).append(refund)
        if amount + refunded == order.total:
            shop.set_order_status(order, "refunded", world.clock())
        return JSONResponse(refund, status_code=201)

    # --- products/categories, system_status -----------------------------------------------

    @app.get(PREFIX + "/products/categories")
    async def categories(request: Request) -> Response:
        listed = [p for p in shop.products.values() if p.type != "variation"]
        category = {
            "id": 15,
            "name": "Uncategorized",
            "slug": "uncategorized",
            "parent": 0,
            "description": "",
            "display": "default",
            "image": None,
            "menu_order": 0,
            "count": len(listed),
        }
        return page(request, [category], lambda c: c)

    @app.get(PREFIX + "/system_status")
    async def system_status() -> Response:
        secure = base().startswith("https://")
        return JSONResponse(
            {
                "environment": {
                    "home_url": base(),
                    "site_url": base(),
                    "version": WC_VERSION,
                    "wp_version": "6.7",
                    "wp_multisite": False,
                    "language": "pl_PL",
                    "server_info": "sandbox",
                    "default_timezone": "UTC",
                },
                "database": {"wc_database_version": WC_VERSION},
                "active_plugins": [],
                "inactive_plugins": [],
                "theme": {"name": "Storefront"},
                "settings": {
                    "api_enabled": True,
                    "force_ssl": False,
                    "currency": "PLN",
                    "currency_symbol": "zł",
                    "number_of_decimals": 2,
                },
                "security": {"secure_connection": secure, "hide_errors": True},
                "pages": [],
            }
        )

    # --- webhooks: created over the API join the configured ones --------------------------

    def hooks() -> list[WooWebhook]:
        return world.webhooks.hooks if world.webhooks is not None else extras.webhooks

    @app.post(PREFIX + "/webhooks")
    async def create_webhook(request: Request) -> Response:
        body = await _body(request)
        missing = [n for n in ("topic", "delivery_url") if not body.get(n)]
        if missing:
            raise _missing(*missing)
        topic = str(body["topic"])
        if topic not in TOPICS:
            raise WooError(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): topic",
                params={"topic": "Webhook topic must be valid."},
            )
        status = str(body.get("status", "active"))
        if status not in ("active", "paused", "disabled"):
            raise WooError(400, "rest_invalid_param", "Invalid parameter(s): status")
        known = hooks()
        hook = WooWebhook(
            id=max((h.id for h in known), default=0) + 1,
            topic=topic,
            delivery_url=str(body["delivery_url"]),
            secret=str(body.get("secret") or secrets.token_urlsafe(24)),
            status=status,
            date_created=world.clock(),
        )
        known.append(hook)
        shown = hook.to_json()
        if body.get("name"):
            shown["name"] = str(body["name"])
        return JSONResponse(shown, status_code=201)
