"""A fake OpenID Connect provider on loopback: discovery, JWKS, authorize and token endpoints,
ID tokens signed with an RSA key generated for the test run.

It behaves as a real provider would (checks the client's credentials, the redirect URI and the
PKCE verifier; a code works once), and lets a test spoil what it signs: ``claims`` overrides
the ID token's claims (another nonce, audience or expiry; an unverified or unknown e-mail),
``signing_key`` signs with a key the JWKS does not hold.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.servers import serve_in_thread

CLIENT_ID = "arbiter-test"
CLIENT_SECRET = "s3cret-of-the-client"
KEY = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})


@dataclass
class Grant:
    redirect_uri: str
    nonce: str
    challenge: str


@dataclass
class FakeProvider:
    issuer: str = ""
    user: dict[str, Any] = field(default_factory=dict)
    claims: dict[str, Any] = field(default_factory=dict)
    signing_key: RSAKey = field(default_factory=lambda: KEY)
    deny: bool = False
    """The person cancels at the provider: it answers access_denied."""
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0

    def reset(self, email: str = "ann@shop.example", verified: bool = True) -> None:
        self.user = {"sub": "user-1", "email": email, "email_verified": verified}
        self.claims = {}
        self.signing_key = KEY
        self.deny = False
        self.grants.clear()
        self.token_requests = 0

    def settings(self, provider_id: str = "fake") -> dict[str, Any]:
        return {
            "id": provider_id,
            "name": "Fake ID",
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }

    # -- endpoints -------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [KEY.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if (
            query.get("client_id") != CLIENT_ID
            or query.get("response_type") != "code"
            or query.get("code_challenge_method") != "S256"
            or "openid" not in query.get("scope", "").split()
            or not query.get("state")
            or not query.get("nonce")
        ):
            return JSONResponse({"error": "invalid_request"}, 400)
        if self.deny:
            refusal = urlencode({"error": "access_denied", "state": query["state"]})
            return RedirectResponse(f"{query['redirect_uri']}?{refusal}", 302)
        code = secrets.token_urlsafe(16)
        self.grants[code] = Grant(query["redirect_uri"], query["nonce"], query["code_challenge"])
        back = urlencode({"code": code, "state": query["state"]})
        return RedirectResponse(f"{query['redirect_uri']}?{back}", 302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        form = await request.form()
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, 401)
        grant = self.grants.pop(str(form.get("code")), None)
        verifier = str(form.get("code_verifier", ""))
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.redirect_uri != form.get("redirect_uri")
            or grant.challenge != challenge
        ):
            return JSONResponse({"error": "invalid_grant"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            **self.user,
            **self.claims,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, self.signing_key)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(16),
                "token_type": "Bearer",
                "id_token": id_token,
            }
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def fake_provider() -> Iterator[FakeProvider]:
    """The provider, served by uvicorn on a free loopback port for the module's tests."""
    provider = FakeProvider()
    with serve_in_thread(provider.app()) as url:
        provider.issuer = url
        yield provider


@pytest.fixture
def provider(fake_provider: FakeProvider) -> FakeProvider:
    """The module's provider, reset to sign in ann@shop.example with a verified address."""
    fake_provider.reset()
    return fake_provider
