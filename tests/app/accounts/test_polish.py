"""What the account and token routes say themselves, in Polish for a Polish reader: the
sign-in refusals, the invitation's password refusal, the API tokens page and its refusals
(the API's own English stays as it is)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.i18n.negotiation import COOKIE
from tests.app.accounts.conftest import accept, invite, person, sign_in
from tests.app.dashboard.conftest import WORKSPACE, admin_api, submit

POLISH = {"Accept-Language": "pl-PL,pl;q=0.9"}


@pytest.fixture
def client(quiet_client: TestClient) -> TestClient:
    """The quiet client with its workspace made."""
    answer = admin_api(quiet_client).put(f"/api/v1/workspaces/{WORKSPACE}", json={"name": "ACME"})
    assert answer.status_code in (200, 201), answer.text
    return quiet_client


def test_a_wrong_password_is_refused_in_polish_and_in_english(client: TestClient) -> None:
    person(client.app, "cat@example.com", "viewer")
    browser = TestClient(client.app, follow_redirects=False, headers=POLISH)
    refused = sign_in(browser, "cat@example.com", "not the password")
    assert refused.status_code == 401
    assert '<html lang="pl">' in refused.text
    assert "Ten e-mail i hasło do siebie nie pasują." in refused.text
    assert "do not match" not in refused.text
    english = TestClient(client.app, follow_redirects=False)
    again = sign_in(english, "cat@example.com", "not the password")
    assert "That e-mail and password do not match." in again.text
    expired = browser.post("/signin/account", data={"email": "cat@example.com", "csrf": "x"})
    assert expired.status_code == 403
    assert "Formularz wygasł. Zaloguj się ponownie." in expired.text


def test_a_short_password_is_refused_in_polish_while_the_api_stays_english(
    client: TestClient,
) -> None:
    path = invite(client, "new@example.com", "viewer")
    browser = TestClient(client.app, follow_redirects=False, headers=POLISH)
    refused = accept(browser, path, "short")
    assert refused.status_code == 422
    assert "Wymagane: hasło o długości co najmniej 10 znaków." in refused.text
    api = admin_api(client)
    api.headers.update(POLISH)
    answer = api.post(
        f"/api/v1/workspaces/{WORKSPACE}/invitations", json={"email": "nope", "role": "viewer"}
    )
    assert answer.status_code == 422
    assert "expected an e-mail address like name@example.com" in answer.text


def test_the_tokens_page_in_polish(client: TestClient) -> None:
    operator = person(client.app, "ops@agency.example", "operator")
    operator.cookies.set(COOKIE, "pl")
    page = operator.get(f"/w/{WORKSPACE}/tokens")
    assert page.status_code == 200
    for polish in ("Tokeny API", "Utwórz token", "Należy do", "Wygasa po", "90 dni", "obserwator"):
        assert polish in page.text, polish
    for english in ("Make a token", "Belongs to", "Expires after", "90 days", "No token yet."):
        assert english not in page.text, english
    refused = submit(operator, page, f"/w/{WORKSPACE}/tokens", role="owner", owner="me")
    assert refused.status_code == 422
    assert "rola: rola nie wyższa niż Twoja własna" in refused.text
    made = submit(operator, page, f"/w/{WORKSPACE}/tokens", name="ERP", role="viewer", owner="me")
    assert "Utworzono token „ERP”." in made.text
    operator.cookies.set(COOKIE, "en")
    assert "Make a token" in operator.get(f"/w/{WORKSPACE}/tokens").text


def test_a_workspace_of_someone_else_is_refused_in_polish(client: TestClient) -> None:
    viewer = person(client.app, "viewer@example.com", "viewer")
    viewer.cookies.set(COOKIE, "pl")
    elsewhere = viewer.get("/w/elsewhere/tokens")
    assert elsewhere.status_code == 403
    assert "To nie Twoja przestrzeń robocza" in elsewhere.text
    assert "Not your workspace" not in elsewhere.text
    invalid = viewer.get("/w/Not%20An%20Id/tokens")
    assert invalid.status_code == 404
    assert "Nie ma takiej przestrzeni roboczej" in invalid.text
