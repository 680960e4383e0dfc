"""Magento's own health after a poll round: what its core REST API exposes (enabled modules,
the store view's configuration), cron and indexers stated as not exposed, a refused read a
note and an unreadable one a connector warning, never the round's error. (Read every five
minutes by the polling base, as test_woocommerce_health.py shows.)"""

from __future__ import annotations

from typing import Any

import pytest
import respx

from app.warnings.rules import connector_warnings
from connectors.magento import MagentoConnector
from tests.connectors.conftest import Clock, FakeMagento, load

pytestmark = pytest.mark.asyncio

BASE = "https://store.example.com"
API = f"{BASE}/rest/pl/V1"


@pytest.fixture
def router() -> respx.Router:
    # Own routes only: the shared fixture answers the health endpoints with nothing.
    return respx.Router(assert_all_mocked=True, assert_all_called=False)


def _shop(router: respx.Router, magento: FakeMagento) -> tuple[respx.Route, respx.Route]:
    modules = router.get(f"{API}/modules").respond(200, json=load("magento", "modules.json"))
    configs = router.get(f"{API}/store/storeConfigs").respond(
        200, json=load("magento", "store_configs.json")
    )
    router.get(url__startswith=f"{BASE}/rest/").mock(side_effect=magento.resources)
    return modules, configs


def _make(deps: dict[str, Any]) -> MagentoConnector:
    credentials = {"access_token": "integration-token", "store_code": "pl"}
    return MagentoConnector(system_id="shop", base_url=BASE, credentials=credentials, **deps)


async def test_modules_and_the_store_views_configuration_are_reported(
    router: respx.Router, magento: FakeMagento, deps: dict[str, Any]
) -> None:
    _shop(router, magento)
    result = await _make(deps).poll(None)

    assert result.health["platform"] == {
        "cron": None,  # not exposed by Magento's core REST API: never guessed
        "indexers": None,
        "modules": 16,
        "msi": True,
        "extensions": ["Acme_ErpSync", "PayPal_Braintree"],
        "store": {
            "code": "pl",
            "base_url": "http://sklep.example.pl/",
            "secure_base_url": "https://sklep.example.pl/",
            "timezone": "Europe/Warsaw",
            "locale": "pl_PL",
            "base_currency_code": "PLN",
        },
    }
    assert not [n for n in result.notes if n.startswith("health")]


async def test_a_refused_health_read_is_a_warning_not_the_rounds_error(
    router: respx.Router, magento: FakeMagento, deps: dict[str, Any], clock: Clock
) -> None:
    refused = load("magento", "error_401.json")
    router.get(f"{API}/modules").respond(401, json=refused)
    router.get(f"{API}/store/storeConfigs").respond(200, json={"message": "not a list"})
    router.get(url__startswith=f"{BASE}/rest/").mock(side_effect=magento.resources)

    result = await _make(deps).poll(None)

    assert [e for e in result.events if e.kind == "seen"]  # the round itself stands
    (refused,) = [n for n in result.notes if n.startswith("health")]
    assert refused.startswith("health: enabled modules not readable:")  # a note, as Woo's
    (unreadable,) = result.warnings  # an answer the connector cannot read: a warning
    assert "store configuration: unexpected answer" in unreadable
    assert result.health["platform"] == {"cron": None, "indexers": None}
    warnings = connector_warnings(
        "shop", {"warnings": result.warnings}, as_of=clock.now, silence_factor=3
    )
    assert [w.kind for w in warnings] == ["connector_error"]
    assert "unexpected answer" in warnings[0].message
