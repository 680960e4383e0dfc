"""The dashboard in real headless Chromium against a real uvicorn server on loopback.

The workspace is fed with the fault scenario of ``conftest`` (the ERP answers 503 to every
order the OMS pushes). Screenshots of each page land in ``test-artifacts/dashboard/``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from app.incidents.evaluator import evaluate_workspace
from tests.app.dashboard.conftest import (
    DRIFTING_SKU,
    healthy_erp_document,
    shot,
)
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.browser


def sign_in(page: Any) -> None:
    page.goto("/")
    assert page.url.endswith("/signin")
    shot(page, "01-signin")
    page.get_by_label("Token").fill(ADMIN_TOKEN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/workspaces")


def test_from_sign_in_to_the_failed_link_its_evidence_and_the_traces(page: Any) -> None:
    sign_in(page)
    shot(page, "02-workspaces")
    page.get_by_role("link", name="ACME Store").click()
    page.wait_for_url("**/w/acme")

    failed = page.locator('g.edge[data-link="order:oms:erp"]')
    blocked = page.locator('g.edge[data-link="order:erp:wms"]')
    assert failed.get_attribute("data-status") == "failed"
    assert failed.get_attribute("data-responsible") == "ERP partner"
    assert blocked.get_attribute("data-status") == "blocked"
    assert page.locator('g.edge[data-link="order:shop:oms"]').get_attribute("data-status") == (
        "healthy"
    )
    stroke = failed.locator("path.edge-line").evaluate("p => getComputedStyle(p).stroke")
    assert stroke == "rgb(198, 40, 40)"  # failed: red
    dashes = blocked.locator("path.edge-line").evaluate("p => getComputedStyle(p).strokeDasharray")
    assert dashes not in ("", "none")  # blocked: grey dashed, not red
    # Times are rewritten to the browser's zone (the server writes UTC).
    stamp = page.locator("time[data-live-asof]")
    assert "UTC" not in stamp.inner_text()
    assert "Europe/Warsaw" in page.locator("footer").inner_text()
    shot(page, "03-overview")

    # Live refresh replaces the panels in place: no full reload.
    page.evaluate("window.__noReload = true")
    page.wait_for_selector("body[data-refreshed]", state="attached", timeout=12_000)
    assert page.evaluate("window.__noReload") is True
    assert page.locator('g.edge[data-link="order:oms:erp"]').get_attribute("data-status") == (
        "failed"
    )

    page.locator("ol.suspects a").first.click()
    page.wait_for_url("**/suspects/order/oms/erp/unavailable")
    verdict = page.locator("[data-verdict]").inner_text()
    assert "oms" in verdict
    assert verdict.endswith("Responsible: ERP partner.")
    page.wait_for_selector(".chart-slot[data-loaded='true'] rect.bar-affected", state="attached")
    heights = page.locator("rect.bar-affected").evaluate_all(
        "bars => bars.map(b => parseFloat(b.getAttribute('height')))"
    )
    assert max(heights) > 0
    shot(page, "04-suspect")

    page.locator("ul.entities a").first.click()
    page.wait_for_url("**/trace?**")
    assert page.locator("#failure").get_attribute("data-status") == "failed"
    assert page.locator('li[data-kind="hop"][data-status="blocked"]').count() >= 1
    page.get_by_role("link", name="Jump to the failure").click()
    assert page.evaluate("document.activeElement.id") == "failure"
    shot(page, "05-trace-failed-order")

    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "top-search"
    page.keyboard.type(healthy_erp_document())
    page.keyboard.press("Enter")
    page.wait_for_url("**/trace?ns=erp**")
    assert page.locator('li[data-kind="hop"][data-status="ok"]').count() == 3
    assert page.locator("#failure").count() == 0
    shot(page, "06-trace-erp-document")

    page.get_by_role("link", name="Stock", exact=True).click()
    page.wait_for_url("**/w/acme/stock")
    first = page.locator("#stock-table tbody tr").first
    assert first.get_attribute("data-sku") == DRIFTING_SKU
    assert first.get_attribute("data-oversell") == "true"
    shot(page, "07-stock")


def test_the_overview_reads_on_a_phone_without_sideways_scrolling(
    browser: Any, server: str
) -> None:
    context = browser.new_context(
        base_url=server, viewport={"width": 390, "height": 844}, device_scale_factor=2
    )
    page = context.new_page()
    try:
        sign_in(page)
        page.goto("/w/acme")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1
        unlabeled = page.evaluate(
            """[...document.querySelectorAll('input:not([type=hidden]), select')]
               .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
               .map(el => el.outerHTML)"""
        )
        assert unlabeled == []
        assert page.locator("main#main").count() == 1
        shot(page, "08-overview-phone")
    finally:
        context.close()


def test_an_incident_from_the_list_to_acknowledged_and_the_printable_sla_report(
    page: Any, service_app: FastAPI
) -> None:
    result = evaluate_workspace(service_app.state.runtime, "acme", datetime.now(UTC))
    assert result.ok, result.error
    sign_in(page)
    page.goto("/w/acme")
    assert int(page.locator("[data-open-incidents]").get_attribute("data-open-incidents")) >= 1
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Incidents").click()
    page.wait_for_url("**/w/acme/incidents")
    row = page.locator("#incident-table tbody tr").first
    assert row.get_attribute("data-status") == "open"
    assert "oms → erp" in row.inner_text()
    assert "UTC" not in row.locator("time").first.inner_text()  # the browser's zone
    shot(page, "09-incidents")

    row.get_by_role("link").click()
    page.wait_for_url("**/w/acme/incidents/*")
    assert page.locator("[data-verdict]").inner_text().endswith("Responsible: ERP partner.")
    assert page.locator('ol.timeline li[data-kind="opened"]').count() == 1
    page.get_by_label("Your name").first.fill("On-call Ola")
    page.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector("[data-acknowledged]")
    assert "On-call Ola" in page.locator("[data-acknowledged]").inner_text()
    assert page.locator('ol.timeline li[data-kind="acknowledged"]').count() == 1
    page.get_by_label("Add a note").fill("ERP partner says the API restarts at 15:00.")
    page.get_by_role("button", name="Add the note").click()
    page.wait_for_selector("ol.notes li")
    assert "restarts at 15:00" in page.locator("ol.notes").inner_text()
    shot(page, "10-incident")

    page.locator("ul.entities a").first.click()
    page.wait_for_url("**/trace?**")
    assert page.locator("#failure").get_attribute("data-status") == "failed"
    page.go_back()

    page.get_by_role("link", name="SLA report", exact=True).first.click()
    page.wait_for_url("**/w/acme/reports/sla")
    assert page.locator('#sla-vendors tr[data-vendor="ERP partner"]').count() == 1
    assert page.locator("#sla-incidents tbody tr").count() >= 1
    shot(page, "11-sla-report")
    page.emulate_media(media="print")
    assert page.locator("header.topbar").evaluate("e => getComputedStyle(e).display") == "none"
    breaks = page.locator(".report-section").evaluate_all(
        "sections => sections.map(s => getComputedStyle(s).breakBefore)"
    )
    # Contracts, costs, charts, vendors, links, incidents: each starts a page.
    assert breaks == ["auto"] + ["page"] * 5
    shot(page, "12-sla-report-print")
