from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors import (
    CREDENTIAL_FIELDS,
    SECRET_FIELDS,
    build_connector,
    credential_problems,
)
from connectors.baselinker import BaseLinkerConnector
from connectors.magento import MagentoConnector
from connectors.odoo import OdooConnector
from connectors.woocommerce import WooCommerceConnector

VALID = {
    "woocommerce": {"consumer_key": "ck_1", "consumer_secret": "cs_1"},
    "magento": {"access_token": "tok", "store_code": "default"},
    "baselinker": {"token": "3001-abc", "inventory_id": "306"},
    "odoo": {"database": "prod", "login": "bot", "api_key": "k"},
}
CLASSES = {
    "woocommerce": WooCommerceConnector,
    "magento": MagentoConnector,
    "baselinker": BaseLinkerConnector,
    "odoo": OdooConnector,
}


@pytest.mark.parametrize("kind", sorted(VALID))
def test_build_connector_gives_the_kind_asked(kind: str, http: httpx.AsyncClient) -> None:
    connector = build_connector(
        kind, system_id="s1", base_url="https://x.example", credentials=VALID[kind], client=http
    )
    assert isinstance(connector, CLASSES[kind])
    assert connector.kind == kind
    assert SECRET_FIELDS[kind] <= set(CREDENTIAL_FIELDS[kind])


def test_unknown_kind_and_bad_credentials_are_value_errors(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="unknown connector kind"):
        build_connector(
            "sellrocket", system_id="s", base_url="https://x", credentials={}, client=http
        )
    with pytest.raises(ValueError, match="consumer_secret is required") as caught:
        build_connector(
            "woocommerce",
            system_id="s",
            base_url="https://x",
            credentials={"consumer_key": "ck_secret_value"},
            client=http,
        )
    assert "ck_secret_value" not in str(caught.value)


@pytest.mark.parametrize(
    ("kind", "credentials", "problem"),
    [
        ("magento", {}, "access_token is required"),
        ("baselinker", {"token": "t", "inventory_id": "abc"}, "inventory_id must be a number"),
        ("baselinker", {"token": "t", "shop": "x"}, "shop is not a baselinker credential"),
        ("odoo", {"database": "d", "login": "u"}, "password or api_key is required"),
        ("odoo", {"protocol": "json2"}, "api_key is required for the json2 protocol"),
        ("odoo", {"protocol": "xmlrpc", "api_key": "k"}, "protocol must be"),
    ],
)
def test_credential_problems(kind: str, credentials: dict[str, Any], problem: str) -> None:
    assert any(problem in p for p in credential_problems(kind, credentials))


def test_valid_credentials_have_no_problems() -> None:
    for kind, credentials in VALID.items():
        assert credential_problems(kind, credentials) == []
    assert credential_problems("odoo", {"protocol": "json2", "api_key": "k"}) == []
