"""Every main page in Polish and in English, in real headless Chromium.

The browser's own language picks the page's (Chromium sends Accept-Language from its
locale), the footer's switch overrides it, and <html lang> says which. Each page in each
language is saved as ``test-artifacts/i18n/<page>-<lang>.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.incidents.evaluator import evaluate_workspace
from tests import paths
from tests.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.browser

ARTIFACTS = paths.ARTIFACTS / "i18n"
LOCALES = {"en": "en-GB", "pl": "pl-PL"}
# A phrase each page must show in each language (and the other language must not).
HEADINGS = {
    "signin": {"en": "Or sign in with a token", "pl": "Albo zaloguj się tokenem"},
    "overview": {"en": "Suspects", "pl": "Podejrzani"},
    "suspect": {"en": "Sample calls", "pl": "Przykładowe wywołania"},
    "report": {"en": "Integration incident report", "pl": "Raport z incydentu integracji"},
    "trace": {"en": "Waterfall", "pl": "Oś czasu"},
    "stock": {"en": "Stock drift", "pl": "Rozbieżności stanów"},
    "incidents": {"en": "Link or system", "pl": "Połączenie lub system"},
    "incident": {"en": "Acknowledgement", "pl": "Potwierdzenie"},
    "sla": {"en": "Per vendor", "pl": "Według dostawcy"},
    "status-tab": {"en": "Post an update", "pl": "Opublikuj komunikat"},
    "status-public": {"en": "Past 90 days", "pl": "Ostatnie 90 dni"},
    "vendor": {"en": "Calls and their errors", "pl": "Wywołania i ich błędy"},
    "tokens": {"en": "Make a token", "pl": "Utwórz token"},
}
# The incident's opening entry of its timeline, said from its stored message and parameters.
OPENED = {"en": "Opened: ", "pl": "Otwarty: "}
# What graph says about the failed link, through the catalogs.
VERDICT = {
    "en": "24 orders stuck between oms and erp: erp answered 503 to every attempt",
    "pl": "Zatrzymane między oms a erp: 24 zamówienia — erp odpowiadał 503 na każdą próbę",
}


@pytest.fixture(scope="module")
def prepared(service_app: FastAPI, server: str) -> dict[str, str]:
    """An incident, a status page and a vendor link in each language; their addresses."""
    result = evaluate_workspace(service_app.state.runtime, "acme", datetime.now(UTC))
    assert result.ok, result.error
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    found: dict[str, str] = {}
    with httpx.Client(base_url=f"{server}/api/v1/workspaces/acme", headers=headers) as api:
        page = {"enabled": True, "name": "ACME Store", "language": "pl"}
        assert api.put("/status-page", json=page).is_success
        incidents = api.get("/incidents").json()
        found["incident"] = f"/w/acme/incidents/{incidents['incidents'][0]['id']}"
        for language in ("en", "pl"):
            answer = api.post(
                "/vendor-links",
                json={"suspect": "order/oms/erp/unavailable", "language": language},
            )
            assert answer.status_code == 201, answer.text
            found[f"vendor-{language}"] = "/" + answer.json()["link"].split("/", 3)[3]
    return found


@pytest.fixture(params=["en", "pl"])
def lang_page(request: pytest.FixtureRequest, browser: Any, server: str) -> Iterator[Any]:
    language = request.param
    context = browser.new_context(
        base_url=server, timezone_id="Europe/Warsaw", locale=LOCALES[language]
    )
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    opened.language = language
    try:
        yield opened
    finally:
        context.close()
    assert not problems, problems


def _check(page: Any, name: str, *, language: str | None = None) -> None:
    """The page speaks ``language`` (the browser's unless said), says so, and is saved."""
    language = language or page.language
    page.wait_for_load_state("domcontentloaded")
    assert page.locator("html").get_attribute("lang") == language
    text = " ".join(page.locator("body").text_content().split())  # as written, not as styled
    other = "pl" if language == "en" else "en"
    assert HEADINGS[name][language] in text, f"{name}: {HEADINGS[name][language]!r} missing"
    assert HEADINGS[name][other] not in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{language}.png"), full_page=True)


def _sign_in(page: Any, name: str | None = None) -> None:
    page.goto("/signin")
    if name:
        _check(page, name)
    page.locator("#token").fill(ADMIN_TOKEN)
    page.locator("#token").press("Enter")
    page.wait_for_url("**/workspaces")


def test_every_page_in_the_browsers_language(lang_page: Any, prepared: dict[str, str]) -> None:
    page, language = lang_page, lang_page.language
    _sign_in(page, "signin")
    page.goto("/w/acme")
    _check(page, "overview")
    assert VERDICT[language] in page.locator("ol.suspects").inner_text()
    page.goto("/w/acme/suspects/order/oms/erp/unavailable")
    _check(page, "suspect")
    assert VERDICT[language] in page.locator("[data-verdict]").inner_text()
    page.goto("/w/acme/suspects/order/oms/erp/unavailable/report")
    _check(page, "report")
    page.goto("/w/acme/trace?q=100040")
    _check(page, "trace")
    page.goto("/w/acme/stock")
    _check(page, "stock")
    page.goto("/w/acme/incidents")
    _check(page, "incidents")
    page.goto(prepared["incident"])
    _check(page, "incident")
    # The incident keeps graph's English sentence; the page says it again in Polish.
    assert VERDICT[language] in page.locator("[data-verdict]").inner_text()
    assert OPENED[language] in page.locator("ol.timeline").inner_text()
    page.goto("/w/acme/reports/sla")
    _check(page, "sla")
    page.goto("/w/acme/status-page")
    _check(page, "status-tab")
    page.goto("/w/acme/tokens")
    _check(page, "tokens")
    # The vendor reads the link in the language it was made in, whatever the browser says.
    page.goto(prepared[f"vendor-{language}"])
    _check(page, "vendor")


def test_the_public_status_page_speaks_the_shops_language(
    browser: Any, server: str, prepared: dict[str, str]
) -> None:
    context = browser.new_context(base_url=server, locale="en-GB")
    page = context.new_page()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    settings = {"enabled": True, "name": "ACME Store", "contact_email": "help@acme.example"}
    try:
        for language in ("pl", "en"):
            with httpx.Client(base_url=server, headers=headers) as api:
                answer = api.put(
                    "/api/v1/workspaces/acme/status-page", json=settings | {"language": language}
                )
                assert answer.is_success, answer.text
            page.goto("/status/acme")
            _check(page, "status-public", language=language)
    finally:
        context.close()


def test_the_language_switch_overrides_the_browser(browser: Any, server: str) -> None:
    context = browser.new_context(base_url=server, locale="pl-PL")
    page = context.new_page()
    try:
        _sign_in(page)
        page.goto("/w/acme")
        assert page.locator("html").get_attribute("lang") == "pl"
        page.locator("footer form.language").get_by_role("button", name="English").click()
        page.wait_for_url("**/w/acme")
        assert page.locator("html").get_attribute("lang") == "en"
        assert "Suspects" in page.locator("body").inner_text()
        page.locator("footer form.language").get_by_role("button", name="Polski").click()
        page.wait_for_url("**/w/acme")
        assert page.locator("html").get_attribute("lang") == "pl"
    finally:
        context.close()
