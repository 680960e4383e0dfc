"""Signing in with OpenID Connect in real headless Chromium: the sign-in page's button, the
provider (the fake one of tests/app/accounts, on loopback) and back, signed in as the invited
person; a stranger is turned back on the sign-in page."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.app.accounts.oidc_provider import FakeProvider, fake_provider
from tests.app.dashboard.conftest import shot
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.browser

fake_provider = fake_provider


@pytest.fixture(scope="module")
def service_settings(fake_provider: FakeProvider) -> dict[str, Any]:
    """The fake provider configured (egress: private, to reach it on loopback)."""
    return {"egress": "private", "oidc_providers": [fake_provider.settings()]}


def test_an_invited_person_signs_in_with_the_provider_and_a_stranger_does_not(
    page: Any, server: str, fake_provider: FakeProvider
) -> None:
    fake_provider.reset("ann@shop.example")
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as api:
        invited = api.post(
            "/api/v1/workspaces/acme/invitations",
            json={"email": "ann@shop.example", "role": "viewer"},
        )
        assert invited.status_code == 201, invited.text

    page.goto("/w/acme")
    page.wait_for_url("**/signin?next=*")
    shot(page, "oidc-01-signin-buttons")
    page.get_by_role("link", name="Sign in with Fake ID").click()
    page.wait_for_url("**/w/acme")
    assert page.get_by_role("button", name="Sign out").count() == 1
    shot(page, "oidc-02-signed-in")
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as api:
        members = api.get("/api/v1/workspaces/acme/members").json()
        trail = api.get("/api/v1/workspaces/acme/audit", params={"q": "signed_in"}).json()
    assert [(m["email"], m["role"]) for m in members] == [("ann@shop.example", "viewer")]
    assert trail[0]["detail"]["via"] == "oidc:fake"

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    fake_provider.reset("stranger@elsewhere.example")
    page.get_by_role("link", name="Sign in with Fake ID").click()
    page.wait_for_url("**/signin/oidc/fake/callback?*")
    assert "No Arbiter account has the address" in page.locator("#signin-error").inner_text()
    shot(page, "oidc-03-stranger-refused")
    # The refusal answers 403, which Chromium logs as a failed load: expected here.
    page.problems[:] = [p for p in page.problems if "status of 403" not in p]
