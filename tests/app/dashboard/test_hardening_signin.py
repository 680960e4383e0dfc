"""The sign-in form's checks: two empty values prove nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.dashboard.sessions import SIGNIN_COOKIE, tokens_match
from tests.conftest import ADMIN_TOKEN


def test_empty_values_never_match() -> None:
    assert tokens_match("", "") is False
    assert tokens_match(None, "") is False
    assert tokens_match("a", "") is False
    assert tokens_match("abc", "abc") is True


def test_sign_in_without_cookie_nor_csrf_is_refused(app_client: TestClient) -> None:
    # An empty sign-in cookie and an empty csrf field: a login CSRF attempt from another site.
    app_client.cookies.clear()
    app_client.cookies.set(SIGNIN_COOKIE, "", path="/signin")
    response = app_client.post("/signin", data={"token": ADMIN_TOKEN, "csrf": ""})
    assert response.status_code == 403
    assert "arbiter_session" not in response.cookies
