"""Signing in with OpenID Connect against a fake provider on loopback: the whole flow (PKCE,
state, nonce, an ID token verified against the JWKS), and every way it must refuse."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc.jwk import RSAKey

from app.main import create_app
from app.settings import Settings
from tests.app.accounts.conftest import invite, person
from tests.app.accounts.oidc_provider import CLIENT_ID, FakeProvider
from tests.app.dashboard.conftest import WORKSPACE, admin_api

API = f"/api/v1/workspaces/{WORKSPACE}"


def _client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as client:
        assert admin_api(client).put(API, json={"name": "ACME Store"}).status_code in (200, 201)
        yield client


@pytest.fixture
def oidc_client(
    settings_factory: Callable[..., Settings], provider: FakeProvider
) -> Iterator[TestClient]:
    """A service with the fake provider configured; its calls to it pass the egress policy
    ``private`` (loopback allowed), as the tests' ARBITER_EGRESS says."""
    yield from _client(
        settings_factory(
            demo=False,
            background=False,
            egress="private",
            public_url="https://arbiter.example",
            oidc_providers=[provider.settings()],
        )
    )


def walk(client: TestClient, start: str = "/signin/oidc/fake") -> httpx.Response:
    """The browser's way through: Arbiter → the provider's authorize → back to Arbiter."""
    leave = client.get(start)
    assert leave.status_code == 303, leave.text
    with httpx.Client(follow_redirects=False) as browser:  # the provider's side of the browser
        authorized = browser.get(leave.headers["location"])
    assert authorized.status_code == 302, authorized.text
    back = authorized.headers["location"]
    assert back.startswith("https://arbiter.example/signin/oidc/fake/callback?")
    return client.get(back[back.index("/signin/") :])


def _trail(client: TestClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = admin_api(client).get(f"{API}/audit").json()
    return found


def test_the_sign_in_page_offers_each_provider(oidc_client: TestClient) -> None:
    page = oidc_client.get("/signin", params={"next": "/w/acme"})
    assert 'data-provider="fake"' in page.text
    assert "Sign in with Fake ID" in page.text
    assert "/signin/oidc/fake?next=/w/acme" in page.text


def test_an_invited_person_signs_in_with_the_provider_and_again_later(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    invite(oidc_client, "ann@shop.example", "operator")
    leave = oidc_client.get("/signin/oidc/fake", params={"next": f"/w/{WORKSPACE}"})
    target = urlsplit(leave.headers["location"])
    asked = parse_qs(target.query)
    assert target.path == "/authorize"
    assert asked["client_id"] == [CLIENT_ID]
    assert asked["code_challenge_method"] == ["S256"]
    assert asked["redirect_uri"] == ["https://arbiter.example/signin/oidc/fake/callback"]
    assert all(asked[name][0] for name in ("state", "nonce", "code_challenge"))
    # The pending sign-in lives sealed in a cookie: neither the state nor the verifier shows.
    cookie = leave.headers["set-cookie"]
    assert "arbiter_oidc=" in cookie
    assert "Path=/signin/oidc" in cookie
    assert "HttpOnly" in cookie
    assert asked["state"][0] not in cookie

    with httpx.Client() as browser:
        back = browser.get(leave.headers["location"], follow_redirects=False).headers["location"]
    arrived = oidc_client.get(back[back.index("/signin/") :])
    assert arrived.status_code == 303, arrived.text
    assert arrived.headers["location"] == f"/w/{WORKSPACE}"
    assert oidc_client.get(f"/w/{WORKSPACE}").status_code == 200
    members = admin_api(oidc_client).get(f"{API}/members").json()
    assert [(m["email"], m["role"]) for m in members] == [("ann@shop.example", "operator")]
    assert admin_api(oidc_client).get(f"{API}/invitations").json() == []

    again = TestClient(oidc_client.app, follow_redirects=False)
    assert walk(again).status_code == 303
    assert again.get(f"/w/{WORKSPACE}").status_code == 200
    signins = [e for e in _trail(oidc_client) if e["action"] == "signed_in"]
    assert len(signins) == 2
    assert all(e["detail"]["via"] == "oidc:fake" for e in signins)
    accepted = [e for e in _trail(oidc_client) if e["action"] == "invitation_accepted"]
    assert accepted[0]["detail"]["via"] == "oidc:fake"


def test_an_entra_id_token_vouches_for_the_address_with_xms_edov(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    invite(oidc_client, "ann@shop.example", "viewer")
    provider.user = {"sub": "entra-oid", "email": "ann@shop.example", "xms_edov": True}
    assert walk(oidc_client).status_code == 303
    provider.user["xms_edov"] = False
    refused = walk(TestClient(oidc_client.app, follow_redirects=False))
    assert refused.status_code == 403


def test_an_existing_account_signs_in_with_its_verified_address(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    person(oidc_client.app, "own@shop.example", "owner")
    provider.reset("Own@Shop.example")
    fresh = TestClient(oidc_client.app, follow_redirects=False)
    assert walk(fresh).headers["location"] == "/workspaces"
    assert fresh.get(f"/w/{WORKSPACE}/people").status_code == 200


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"nonce": "a nonce of another sign-in"}, "could not be verified"),
        ({"aud": "another-client"}, "could not be verified"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "could not be verified"),
        ({"iss": "http://127.0.0.1:1"}, "could not be verified"),
        ({"email_verified": False}, "did not confirm an e-mail address"),
        ({"email_verified": "true"}, "did not confirm an e-mail address"),
        ({"email": "stranger@elsewhere.example"}, "No Arbiter account has the address"),
    ],
    ids=[
        "wrong-nonce",
        "wrong-audience",
        "expired",
        "wrong-issuer",
        "unverified",
        "text",
        "unknown",
    ],
)
def test_a_spoiled_or_unknown_identity_lets_nobody_in(
    oidc_client: TestClient, provider: FakeProvider, spoil: dict[str, Any], reason: str
) -> None:
    invite(oidc_client, "ann@shop.example", "viewer")
    provider.claims = spoil
    refused = walk(oidc_client)
    assert refused.status_code in (401, 403), refused.text
    assert reason in refused.text
    assert "arbiter_session" not in refused.headers.get("set-cookie", "")
    assert oidc_client.get(f"/w/{WORKSPACE}").status_code == 303  # still signed out
    assert admin_api(oidc_client).get(f"{API}/members").json() == []
    assert len(admin_api(oidc_client).get(f"{API}/invitations").json()) == 1


def test_a_person_who_cancels_at_the_provider_is_back_on_the_sign_in_page(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    invite(oidc_client, "ann@shop.example", "viewer")
    provider.deny = True
    cancelled = walk(oidc_client)
    assert cancelled.status_code == 401
    assert "Fake ID did not sign you in (access_denied)" in cancelled.text
    assert 'name="password"' in cancelled.text  # the sign-in page, to try another way
    assert provider.token_requests == 0


def test_a_token_signed_with_another_key_is_refused(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    invite(oidc_client, "ann@shop.example", "viewer")
    provider.signing_key = RSAKey.generate_key(
        2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"}
    )
    refused = walk(oidc_client)
    assert refused.status_code == 401
    assert "could not be verified" in refused.text


def test_a_callback_without_this_browser_s_state_is_refused(
    oidc_client: TestClient, provider: FakeProvider
) -> None:
    invite(oidc_client, "ann@shop.example", "viewer")
    leave = oidc_client.get("/signin/oidc/fake")
    with httpx.Client() as browser:
        back = browser.get(leave.headers["location"]).headers["location"]
    path = back[back.index("/signin/") :]
    # Another browser (no cookie), or this one with a state it did not start: refused.
    other = TestClient(oidc_client.app, follow_redirects=False)
    assert other.get(path).status_code == 400
    forged = path.replace("state=", "state=x")
    assert oidc_client.get(forged).status_code == 400
    assert provider.token_requests == 0  # the code was never traded
    assert oidc_client.get("/signin/oidc/nope").status_code == 404
    denied = oidc_client.get("/signin/oidc/fake/callback?error=access_denied&state=x")
    assert denied.status_code == 400


def test_the_egress_policy_applies_to_the_provider(
    settings_factory: Callable[..., Settings],
    provider: FakeProvider,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = settings_factory(
        demo=False, background=False, egress="public", oidc_providers=[provider.settings()]
    )
    for client in _client(settings):
        refused = client.get("/signin/oidc/fake")
        assert refused.status_code == 502
        assert "cannot be reached" in refused.text
    assert "egress policy: public" in caplog.text


def test_a_bad_provider_setting_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="id"):
        Settings(
            oidc_providers=[  # type: ignore[list-item]
                {"id": "Bad Id", "name": "x", "issuer": "https://x", "client_id": "a"}
            ]
        )
