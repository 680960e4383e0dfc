"""Each kind of check against the sandbox storefront's real loopback listeners, its faults
included, and the egress policy refusing before anything is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from app.checks.models import CheckIn
from app.checks.probes import run_probe
from connectors.http import EgressTransport
from sandbox.faults import FaultRegistry
from sandbox.storefront import Storefront

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def storefront() -> AsyncIterator[Storefront]:
    shop = Storefront(FaultRegistry(seed=1))
    await shop.start()
    try:
        yield shop
    finally:
        await shop.stop()


async def _loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


async def _probe(check: CheckIn, *, mode: Any = "private") -> Any:
    async with httpx.AsyncClient(transport=EgressTransport(mode, resolve=_loopback)) as client:
        return await run_probe(check, client=client, mode=mode, resolve=_loopback)


def _page(shop: Storefront, path: str, **fields: Any) -> CheckIn:
    url = f"http://127.0.0.1:{shop.ports['storefront']}{path}"
    return CheckIn(kind="http", target="shop", url=url, **fields)


async def test_pages_pass_with_their_text(storefront: Storefront) -> None:
    home = await _probe(_page(storefront, "/", page="home", expect_text="Sandbox Shop"))
    checkout = await _probe(_page(storefront, "/checkout", page="checkout", expect_text="Place"))
    assert (home.ok, home.status, home.error) == (True, 200, None)
    assert checkout.ok
    assert checkout.duration_ms > 0


async def test_a_page_without_its_text_fails_though_answered_200(storefront: Storefront) -> None:
    result = await _probe(_page(storefront, "/", page="home", expect_text="Add to cart"))
    assert (result.ok, result.status) == (False, 200)
    assert result.error == "home page does not show 'Add to cart'"


@pytest.mark.parametrize(
    ("fault", "path", "status"),
    [("site_down", "/", 503), ("checkout_500", "/checkout", 500), ("checkout_500", "/", 200)],
)
async def test_page_faults(storefront: Storefront, fault: str, path: str, status: int) -> None:
    storefront.faults.add(fault, "shop")
    result = await _probe(_page(storefront, path, expect_text="Sandbox Shop"))
    assert result.status == status
    assert result.ok is (status == 200)


async def test_slow_checkout_past_the_timeout_is_no_answer(storefront: Storefront) -> None:
    storefront.faults.add("slow_checkout", "shop", params={"delay_seconds": 1.0})
    result = await _probe(_page(storefront, "/checkout", timeout_seconds=0.2))
    assert (result.ok, result.status) == (False, None)
    assert result.error == "no answer within 0.2 s"


def _tls(shop: Storefront, **fields: Any) -> CheckIn:
    port = shop.ports["storefront_tls"]
    return CheckIn(kind="tls", target="shop", host="localhost", port=port, **fields)


async def test_certificate_days_left(storefront: Storefront) -> None:
    normal = await _probe(_tls(storefront, verify_tls=False))
    assert normal.ok
    assert 89.9 < normal.details["days_left"] <= 90
    storefront.faults.add("cert_expiring", "shop", params={"days": 4})
    expiring = await _probe(_tls(storefront, verify_tls=False))
    assert expiring.ok
    assert 3.9 < expiring.details["days_left"] <= 4


async def test_an_untrusted_certificate_fails_when_verified(storefront: Storefront) -> None:
    result = await _probe(_tls(storefront))
    assert (result.ok, result.status) == (False, None)
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error or "")


async def test_mail_greeting(storefront: Storefront) -> None:
    check = CheckIn(
        kind="smtp", target="shop", host="mail.test", port=storefront.ports["storefront_mail"]
    )
    greeted = await _probe(check)
    assert (greeted.ok, greeted.status) == (True, 200)
    assert greeted.details["greeting"].startswith("220 mail.sandbox-shop.test")
    storefront.faults.add("site_down", "shop")
    refused = await _probe(check)
    assert (refused.ok, refused.status) == (False, 503)
    assert "421" in (refused.error or "")


async def test_dns() -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    check = CheckIn(kind="dns", target="shop", host="shop.test")
    async with httpx.AsyncClient() as client:
        found = await run_probe(check, client=client, mode="private", resolve=_loopback)
        missing = await run_probe(check, client=client, mode="private", resolve=nowhere)
    assert (found.ok, found.status, found.details["addresses"]) == (True, 200, ["127.0.0.1"])
    assert (missing.ok, missing.status) == (False, None)
    assert missing.error == "shop.test does not resolve: Name or service not known"


async def test_the_egress_policy_refuses_before_sending(storefront: Storefront) -> None:
    page = await _probe(_page(storefront, "/"), mode="public")
    mail = CheckIn(
        kind="smtp", target="shop", host="mail.test", port=storefront.ports["storefront_mail"]
    )
    greeting = await _probe(mail, mode="public")
    for result in (page, greeting):
        assert (result.ok, result.status) == (False, None)
        assert "egress policy: public" in (result.error or "")
