"""The API tokens page in real headless Chromium: an owner makes a token for an integration,
sees it once, the integration uses it (the list shows the use), and the owner revokes it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.app.dashboard import test_accounts_browser as people
from tests.app.dashboard.conftest import shot

pytestmark = pytest.mark.browser


def test_an_owner_makes_a_token_sees_its_use_and_revokes_it(page: Any, server: str) -> None:
    people.join(page, server, "owner@shop.example", "owner")
    page.get_by_role("link", name="API tokens").click()
    page.wait_for_url("**/w/acme/tokens")
    page.get_by_label("Name", exact=True).fill("ERP bridge")
    page.get_by_label("Role", exact=True).select_option("operator")
    page.get_by_label("the integration").check()
    page.get_by_label("Integration's name").fill("ERP middleware")
    page.get_by_label("Expires after").select_option("30")
    page.get_by_role("button", name="Make the token").click()
    secret = page.locator("#new-token code").inner_text()
    assert secret.startswith("arb_")
    shot(page, "tokens-01-made")

    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {secret}"}) as api:
        assert api.get("/api/v1/workspaces/acme/incidents").status_code == 200
        page.goto("/w/acme/tokens")
        row = page.locator("tr", has_text="ERP bridge")
        assert "ERP middleware" in row.inner_text()
        assert "operator" in row.inner_text()
        assert "never" not in row.locator("td").nth(4).inner_text()  # last use is shown
        assert secret not in page.content()  # shown once
        shot(page, "tokens-02-listed")
        row.get_by_role("button", name="Revoke ERP bridge").click()
        page.wait_for_url("**/w/acme/tokens")
        assert page.locator("tr", has_text="ERP bridge").count() == 0
        assert api.get("/api/v1/workspaces/acme/incidents").status_code == 401
