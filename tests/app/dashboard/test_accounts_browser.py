"""People in real headless Chromium: an invitation, e-mail sign-in, a viewer who cannot
acknowledge, an operator who does, and the vendor's link that shows its evidence and opens
nothing else. The server and browser fixtures are the dashboard browser suite's own."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.incidents.evaluator import evaluate_workspace
from tests.app.dashboard.conftest import shot
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.browser


PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def incident(server: str, service_app: FastAPI) -> int:
    """The open incident on order oms→erp (evaluated now, not waiting for the evaluator)."""
    runtime = service_app.state.runtime
    result = evaluate_workspace(runtime, "acme", datetime.now(UTC) - timedelta(seconds=1))
    assert result.ok, result.error
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as api:
        found = api.get("/api/v1/workspaces/acme/incidents").json()
    number: int = found["incidents"][0]["id"]
    return number


def invitation(server: str, email: str, role: str) -> str:
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as api:
        answer = api.post(
            "/api/v1/workspaces/acme/invitations", json={"email": email, "role": role}
        )
    assert answer.status_code == 201, answer.text
    link: str = answer.json()["link"]
    return link[link.index("/signin/") :]


def join(page: Any, server: str, email: str, role: str) -> None:
    page.goto(invitation(server, email, role))
    assert role in page.locator("[data-role]").inner_text()
    page.get_by_label("Choose a password").fill(PASSWORD)
    page.get_by_role("button", name="Join").click()
    page.wait_for_url("**/w/acme")


def test_an_invited_viewer_joins_signs_in_again_and_cannot_acknowledge(
    page: Any, server: str, incident: int
) -> None:
    join(page, server, "viewer@shop.example", "viewer")
    shot(page, "people-01-joined-as-viewer")
    page.goto(f"/w/acme/incidents/{incident}")
    assert page.get_by_role("button", name="Acknowledge").count() == 0
    assert "Your role here is viewer" in page.locator("#acknowledged").inner_text()
    assert page.get_by_role("link", name="People").count() == 0
    shot(page, "people-02-viewer-incident")
    # A forged acknowledgement from this session is refused all the same.
    csrf = page.locator("form[action='/signout'] input[name=csrf]").get_attribute("value")
    refused = page.request.post(
        f"/w/acme/incidents/{incident}/acknowledge", form={"csrf": csrf}, max_redirects=0
    )
    assert refused.status == 403

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin")
    page.get_by_label("E-mail").fill("viewer@shop.example")
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in with e-mail").click()
    assert "do not match" in page.locator("#signin-error").inner_text()
    # The refused sign-in answers 401, which Chromium logs as a failed load: expected here.
    page.problems[:] = [p for p in page.problems if "status of 401" not in p]
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in with e-mail").click()
    page.wait_for_url("**/workspaces")
    assert page.locator("#ws-list li").count() == 1
    assert "ACME Store" in page.locator("#ws-list").inner_text()
    shot(page, "people-03-workspaces")


def test_an_operator_acknowledges_and_hands_the_vendor_a_link(
    page: Any, browser: Any, server: str, incident: int
) -> None:
    join(page, server, "ops@agency.example", "operator")
    page.goto(f"/w/acme/incidents/{incident}")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(re.compile(r".*#acknowledged$"))
    assert "ops@agency.example" in page.locator("[data-acknowledged]").inner_text()
    assert "Acknowledged by ops@agency.example" in page.locator("ol.timeline").inner_text()

    page.get_by_role("button", name="Make a link for the vendor").click()
    link = page.locator("#new-vendor-link code").inner_text()
    shot(page, "people-04-vendor-link-made")
    path = link[link.index("/vendor/") :]

    vendor = browser.new_context(base_url=server)
    try:
        helpdesk = vendor.new_page()
        helpdesk.goto(path)
        assert "ERP partner" in helpdesk.locator(".responsible").inner_text()
        calls = helpdesk.locator("table.calls").inner_text()
        assert "503" in calls
        assert helpdesk.locator("section.journey").count() >= 1
        assert helpdesk.locator("a[href^='/w/']").count() == 0
        shot(helpdesk, "people-05-vendor-view")
        for other in ("/w/acme", "/w/acme/vendor-links", f"/w/acme/incidents/{incident}"):
            helpdesk.goto(other)
            assert "/signin" in helpdesk.url
        api = helpdesk.request.get("/api/v1/workspaces/acme/incidents")
        assert api.status == 401
        gone = helpdesk.goto("/vendor/" + "x" * 43)
        assert gone is not None
        assert gone.status == 404
    finally:
        vendor.close()
