"""Sign-in, the session cookie, sign-out, CSRF and who may see which workspace."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.dashboard.tables import dashboard_sessions
from tests.app.dashboard.conftest import admin_api, sign_in, submit, workspace_token
from tests.conftest import ADMIN_TOKEN


def test_anonymous_visitors_are_sent_to_sign_in(app_client: TestClient) -> None:
    assert app_client.get("/").headers["location"] == "/signin"
    answer = app_client.get("/w/acme/stock")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fw%2Facme%2Fstock"
    page = app_client.get("/signin")
    assert page.status_code == 200
    assert '<label for="token">' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_admin_signs_in_with_an_http_only_same_site_cookie_holding_no_token(
    app_client: TestClient,
) -> None:
    answer = sign_in(app_client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/workspaces"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith("arbiter_session=")
    )
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/" in attributes
    value = cookie.split(";")[0].split("=", 1)[1]
    assert ADMIN_TOKEN not in value
    assert len(value) >= 32
    runtime = app_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        stored = connection.execute(select(dashboard_sessions.c.id_hash)).scalars().all()
    assert stored
    assert value not in stored
    assert app_client.get("/workspaces").status_code == 200


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(
    app_client: TestClient,
) -> None:
    form = app_client.get("/signin", params={"next": "/w/acme"})
    answer = submit(app_client, form, "/signin", token=ADMIN_TOKEN, next="/w/acme")
    assert answer.headers["location"] == "/w/acme"
    app_client.cookies.clear()
    form = app_client.get("/signin")
    answer = submit(app_client, form, "/signin", token=ADMIN_TOKEN, next="//evil.example/x")
    assert answer.headers["location"] == "/workspaces"


def test_a_wrong_token_or_a_forged_sign_in_form_is_refused(app_client: TestClient) -> None:
    answer = sign_in(app_client, "arb_not_a_token")
    assert answer.status_code == 401
    assert "That token is not valid." in answer.text
    assert "arbiter_session" not in answer.headers.get("set-cookie", "")
    app_client.get("/signin")
    forged = app_client.post("/signin", data={"token": ADMIN_TOKEN, "csrf": "guessed"})
    assert forged.status_code == 403
    assert "arbiter_session" not in app_client.cookies


def test_sign_out_needs_the_session_csrf_token(app_client: TestClient) -> None:
    sign_in(app_client)
    page = app_client.get("/workspaces")
    refused = app_client.post("/signout", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert app_client.get("/workspaces").status_code == 200  # still signed in
    done = submit(app_client, page, "/signout")
    assert done.status_code == 303
    assert done.headers["location"] == "/signin"
    assert app_client.get("/workspaces").status_code == 303


def test_an_old_cookie_replayed_after_sign_out_opens_nothing(app_client: TestClient) -> None:
    sign_in(app_client)
    cookie = app_client.cookies["arbiter_session"]
    page = app_client.get("/workspaces")
    submit(app_client, page, "/signout")
    app_client.cookies.set("arbiter_session", cookie)
    assert app_client.get("/workspaces").status_code == 303


def test_a_workspace_token_sees_its_workspace_only(app_client: TestClient) -> None:
    api = admin_api(app_client)
    api.put("/api/v1/workspaces/other", json={"name": "Other shop"})
    _, secret = workspace_token(app_client, "acme")
    answer = sign_in(app_client, secret)
    assert answer.headers["location"] == "/w/acme"
    assert app_client.get("/w/acme").status_code == 200
    for path in ("/w/other", "/w/other/stock", "/w/other/trace?q=1", "/w/other/suspects/x"):
        denied = app_client.get(path)
        assert denied.status_code == 403, path
        assert "Other shop" not in denied.text
    assert app_client.get("/w/other/live").status_code == 403
    assert app_client.get("/workspaces").headers["location"] == "/w/acme"


def test_revoking_the_token_ends_its_sessions(app_client: TestClient) -> None:
    token_id, secret = workspace_token(app_client, "acme")
    sign_in(app_client, secret)
    assert app_client.get("/w/acme").status_code == 200
    api = admin_api(app_client)
    assert api.delete(f"/api/v1/workspaces/acme/tokens/{token_id}").status_code == 204
    assert app_client.get("/w/acme").status_code == 303
