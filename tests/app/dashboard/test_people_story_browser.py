"""Issue 16's "done when", walked in headless Chromium as the people in it would: the merchant
invites a colleague as viewer and the agency as operator from the People page; the colleague
cannot acknowledge, the agency does and the timeline names them; the vendor's helpdesk opens
the agency's link and sees exactly its evidence (its calls, errors and journeys), nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.app.dashboard import test_accounts_browser as people
from tests.app.dashboard.conftest import shot

pytestmark = pytest.mark.browser

incident = people.incident


@pytest.fixture
def browsers(browser: Any, server: str) -> Iterator[Any]:
    """Opens a page in a browser of its own (another person's machine)."""
    contexts: list[Any] = []

    def open_page() -> Any:
        context = browser.new_context(base_url=server, locale="en-GB")
        contexts.append(context)
        opened = context.new_page()
        opened.set_default_timeout(10_000)
        return opened

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


def invite_from_people_page(merchant: Any, email: str, role: str) -> str:
    merchant.goto("/w/acme/people")
    merchant.get_by_label("E-mail").fill(email)
    merchant.get_by_label("Role", exact=True).select_option(role)
    merchant.get_by_role("button", name="Invite").click()
    link: str = merchant.locator("#invitation-link code").inner_text()
    return link[link.index("/signin/") :]


def accept(invitee: Any, path: str, role: str) -> None:
    invitee.goto(path)
    assert role in invitee.locator("[data-role]").inner_text()
    invitee.get_by_label("Choose a password").fill(people.PASSWORD)
    invitee.get_by_role("button", name="Join").click()
    invitee.wait_for_url("**/w/acme")


def test_the_merchant_invites_the_agency_acknowledges_the_vendor_sees_its_evidence(
    page: Any, browsers: Any, server: str, incident: int
) -> None:
    # The first owner comes in by the admin's invitation; everything after is the merchant's.
    people.join(page, server, "owner@shop.example", "owner")
    merchant = page
    colleague_link = invite_from_people_page(merchant, "colleague@shop.example", "viewer")
    agency_link = invite_from_people_page(merchant, "ops@agency.example", "operator")
    waiting = merchant.locator("#pending-invitations").inner_text()
    assert "colleague@shop.example" in waiting
    assert "ops@agency.example" in waiting
    shot(merchant, "story-01-invitations-pending")

    colleague = browsers()
    accept(colleague, colleague_link, "viewer")
    colleague.goto(f"/w/acme/incidents/{incident}")
    assert colleague.get_by_role("button", name="Acknowledge").count() == 0

    agency = browsers()
    accept(agency, agency_link, "operator")
    agency.goto(f"/w/acme/incidents/{incident}")
    agency.get_by_role("button", name="Acknowledge").click()
    agency.wait_for_url(re.compile(r".*#acknowledged$"))

    merchant.goto(f"/w/acme/incidents/{incident}")
    assert "Acknowledged by ops@agency.example" in merchant.locator("ol.timeline").inner_text()
    shot(merchant, "story-02-timeline-names-the-agency")
    merchant.goto("/w/acme/people")
    members = merchant.locator("#members").inner_text()
    assert "colleague@shop.example" in members
    assert "ops@agency.example" in members
    assert "No invitation is waiting" in merchant.locator("#pending-invitations").inner_text()

    agency.goto(f"/w/acme/incidents/{incident}")
    agency.get_by_role("button", name="Make a link for the vendor").click()
    link = agency.locator("#new-vendor-link code").inner_text()

    helpdesk = browsers()
    helpdesk.goto(link[link.index("/vendor/") :])
    text = helpdesk.locator("main").inner_text()
    assert "ERP partner" in helpdesk.locator(".responsible").inner_text()
    assert "503" in helpdesk.locator("table.calls").inner_text()
    assert helpdesk.locator("section.journey").count() >= 1
    # Exactly its evidence: no other vendor, no way into the workspace, no other link.
    for foreign in ("Warehouse Co", "Shop agency", "wms", "owner@shop.example"):
        assert foreign not in text
    assert helpdesk.locator("a[href^='/w/']").count() == 0
    shot(helpdesk, "story-03-vendor-sees-its-evidence")
    helpdesk.goto(f"/w/acme/incidents/{incident}")
    assert "/signin" in helpdesk.url
