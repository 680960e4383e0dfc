"""The egress policy on every request a connector sends, and errors that never quote bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from connectors.base import ConnectorError, ProtocolError
from connectors.http import EgressRefused, EgressTransport, HttpApi, RetryPolicy, egress_refusal


def _resolver(*addresses: str):  # type: ignore[no-untyped-def]
    async def resolve(_host: str, _port: int) -> list[str]:
        return list(addresses)

    return resolve


def _seen() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    return seen, httpx.MockTransport(handler)


@pytest.mark.parametrize(
    ("address", "private", "public"),
    [
        ("169.254.169.254", False, False),
        ("fe80::1", False, False),
        ("::ffff:169.254.169.254", False, False),
        ("fd00:ec2::254", False, False),
        ("0.0.0.0", False, False),
        ("127.0.0.1", True, False),
        ("10.1.2.3", True, False),
        ("192.168.1.9", True, False),
        ("::1", True, False),
        ("93.184.216.34", True, True),
        ("2606:4700::1111", True, True),
    ],
)
def test_policy_per_address(address: str, private: bool, public: bool) -> None:
    assert (egress_refusal(address, "private") is None) is private
    assert (egress_refusal(address, "public") is None) is public


@pytest.mark.asyncio
async def test_request_goes_to_the_checked_address_with_its_host_header() -> None:
    seen, inner = _seen()
    transport = EgressTransport("public", inner, resolve=_resolver("93.184.216.34"))
    async with httpx.AsyncClient(transport=transport) as client:
        response = await client.get("https://shop.example.com:8443/wp-json/wc/v3?x=1")
    assert response.status_code == 200
    (request,) = seen
    assert request.url.host == "93.184.216.34"
    assert request.url.port == 8443
    assert request.url.path == "/wp-json/wc/v3"
    assert request.headers["host"] == "shop.example.com:8443"
    assert request.extensions["sni_hostname"] == "shop.example.com"


@pytest.mark.parametrize(
    ("mode", "addresses"),
    [
        ("private", ("169.254.169.254",)),
        ("public", ("127.0.0.1",)),
        ("public", ("10.0.0.1", "192.168.0.1")),
    ],
)
@pytest.mark.asyncio
async def test_refused_addresses_are_never_contacted(mode: str, addresses: tuple[str]) -> None:
    seen, inner = _seen()
    transport = EgressTransport(mode, inner, resolve=_resolver(*addresses))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(EgressRefused):
            await client.get("http://rebound.example/")
    assert seen == []


@pytest.mark.asyncio
async def test_a_permitted_address_is_chosen_over_a_refused_one() -> None:
    # A DNS answer mixing the metadata address with a public one reaches only the public one.
    seen, inner = _seen()
    transport = EgressTransport(
        "private", inner, resolve=_resolver("169.254.169.254", "93.184.216.34")
    )
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("http://mixed.example/")
    assert [r.url.host for r in seen] == ["93.184.216.34"]


@pytest.mark.asyncio
async def test_redirects_are_checked_too() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest"})

    async def resolve(host: str, _port: int) -> list[str]:
        return [host] if host[0].isdigit() else ["93.184.216.34"]

    transport = EgressTransport("private", httpx.MockTransport(handler), resolve=resolve)
    async with httpx.AsyncClient(transport=transport, follow_redirects=True) as client:
        with pytest.raises(EgressRefused):
            await client.get("http://shop.example/")


def _api(transport: httpx.AsyncBaseTransport) -> tuple[HttpApi, httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=transport)

    async def no_sleep(_seconds: float) -> None:
        return None

    api = HttpApi(
        client=client,
        system_id="shop",
        base_url="http://shop.example",
        clock=lambda: datetime(2026, 11, 25, tzinfo=UTC),
        retry=RetryPolicy(attempts=1, initial_delay=0.0),
        sleep=no_sleep,
    )
    return api, client


@pytest.mark.parametrize("status", [200, 404, 500])
@pytest.mark.asyncio
async def test_errors_never_quote_a_raw_body(status: int) -> None:
    page = "<html>internal admin: SECRET-CANARY-42</html>"
    transport = httpx.MockTransport(lambda _r: httpx.Response(status, text=page))
    api, client = _api(transport)
    async with client:
        with pytest.raises(ConnectorError) as caught:
            await api.request("GET", "/x", flow="order")
    assert "SECRET-CANARY" not in caught.value.message
    assert str(status) in caught.value.message
    assert all("SECRET-CANARY" not in str(e.outcome) for e in api.drain())


@pytest.mark.asyncio
async def test_errors_quote_the_vendors_code() -> None:
    body = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list."}
    transport = httpx.MockTransport(lambda _r: httpx.Response(403, json=body))
    api, client = _api(transport)
    async with client:
        with pytest.raises(ConnectorError) as caught:
            await api.request("GET", "/x", flow="order")
    assert "HTTP 403 woocommerce_rest_cannot_view" in caught.value.message


@pytest.mark.asyncio
async def test_egress_refusal_is_not_retried_nor_recorded_as_evidence() -> None:
    seen, inner = _seen()
    api, client = _api(EgressTransport("public", inner, resolve=_resolver("127.0.0.1")))
    async with client:
        with pytest.raises(ConnectorError) as caught:
            await api.request("GET", "/x", flow="order")
    assert not isinstance(caught.value, ProtocolError)
    assert caught.value.code == "egress_refused"
    assert api.drain() == []
    assert seen == []
