"""OpenID Connect sign-in, the relying party's side: authorization code flow with PKCE, state
and nonce, and an ID token verified before anyone is let in.

Authlib builds the requests (authorization URL, token request, S256 challenge) and checks the
ID token's claims (``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, ``azp``, ``at_hash``);
joserfc, Authlib's JOSE library, checks its signature against the provider's JWKS. Every call
to the provider goes through the caller's httpx client, whose transport applies the egress
policy (:class:`connectors.http.EgressTransport`).

Exceptions::

    OidcError                  the sign-in cannot go on; its message may be shown as it is
    └── ProviderUnreachable    the provider did not answer, answered badly, or is refused by
                               the egress policy
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636.challenge import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.auth.providers import OidcProvider

LEEWAY_SECONDS = 60
"""Clock difference allowed between Arbiter and the provider on exp, iat and nbf."""
ACCEPTED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
"""Asymmetric algorithms only: never ``none``, never an HMAC keyed with the client secret."""

VERIFIED_CLAIMS = ("email_verified", "xms_edov")
"""Claims by which a provider vouches for the address (true, the JSON boolean): the standard
one, and Microsoft Entra ID's (its tokens carry no ``email_verified``; ``xms_edov``, the
e-mail domain's owner verified, is the optional claim Microsoft says to check instead)."""


class OidcError(Exception):
    """The sign-in cannot go on (the message says why, without secrets)."""


class ProviderUnreachable(OidcError):
    """The provider did not answer, answered what is not its protocol, or is refused by the
    egress policy."""


@dataclass(frozen=True)
class Metadata:
    """What Arbiter uses of the provider's discovery document."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...]
    post_auth: bool
    """The token endpoint takes the client secret in the body only (client_secret_post)."""


@dataclass(frozen=True)
class Pending:
    """A sign-in between the redirect to the provider and its answer (kept sealed in a cookie
    of the browser that started it)."""

    provider: str
    state: str
    nonce: str
    verifier: str
    next: str | None


@dataclass(frozen=True)
class Identity:
    subject: str
    email: str | None
    email_verified: bool


async def _json(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Any:
    try:
        response = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(f"the provider did not answer: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        reason = body.get("error") if isinstance(body, dict) else None
        raise ProviderUnreachable(
            f"the provider answered {response.status_code} to {url}"
            + (f" ({str(reason)[:100]})" if reason else "")
        )
    return body


async def discover(client: httpx.AsyncClient, provider: OidcProvider) -> Metadata:
    """The provider's endpoints, from its discovery document (which must name its issuer)."""
    found = await _json(client, "GET", provider.discovery)
    try:
        metadata = Metadata(
            issuer=str(found["issuer"]),
            authorization_endpoint=str(found["authorization_endpoint"]),
            token_endpoint=str(found["token_endpoint"]),
            jwks_uri=str(found["jwks_uri"]),
            algorithms=tuple(
                a
                for a in found.get("id_token_signing_alg_values_supported", ["RS256"])
                if a in ACCEPTED_ALGORITHMS
            ),
            post_auth=found.get("token_endpoint_auth_methods_supported") == ["client_secret_post"],
        )
    except (KeyError, TypeError) as exc:
        raise ProviderUnreachable(f"the discovery document lacks {exc}") from exc
    if metadata.issuer.rstrip("/") != provider.issuer.rstrip("/"):
        raise OidcError(f"the provider calls itself '{metadata.issuer[:200]}', not its issuer")
    if not metadata.algorithms:
        raise OidcError("the provider signs ID tokens with no algorithm Arbiter accepts")
    return metadata


def authorization_url(
    provider: OidcProvider, metadata: Metadata, redirect_uri: str, next_path: str | None
) -> tuple[str, Pending]:
    """Where to send the browser, and what to keep until it comes back."""
    pending = Pending(
        provider=provider.id,
        state=generate_token(43),
        nonce=generate_token(43),
        verifier=generate_token(64),
        next=next_path,
    )
    url = prepare_grant_uri(
        metadata.authorization_endpoint,
        provider.client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=provider.scope,
        state=pending.state,
        nonce=pending.nonce,
        code_challenge=create_s256_code_challenge(pending.verifier),
        code_challenge_method="S256",
    )
    return str(url), pending


async def identify(
    client: httpx.AsyncClient,
    provider: OidcProvider,
    metadata: Metadata,
    pending: Pending,
    code: str,
    redirect_uri: str,
    now: datetime,
) -> Identity:
    """Trade the code for tokens and verify the ID token: signature (JWKS), issuer, audience,
    expiry and the nonce of this sign-in."""
    secret = provider.client_secret.get_secret_value()
    body = prepare_token_request(
        "authorization_code",
        code=code,
        redirect_uri=redirect_uri,
        code_verifier=pending.verifier,
        **(
            {"client_id": provider.client_id, "client_secret": secret} if metadata.post_auth else {}
        ),
    )
    tokens = await _json(
        client,
        "POST",
        metadata.token_endpoint,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
        auth=None if metadata.post_auth else httpx.BasicAuth(provider.client_id, secret),
    )
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("the provider sent no ID token")
    keys = await _json(client, "GET", metadata.jwks_uri)
    try:
        decoded = jwt.decode(
            id_token,
            KeySet.import_key_set(keys),
            registry=JWSRegistry(algorithms=list(metadata.algorithms)),
        )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            options={
                "iss": {"essential": True, "value": metadata.issuer},
                "aud": {"essential": True, "value": provider.client_id},
            },
            params={
                "nonce": pending.nonce,
                "client_id": provider.client_id,
                "access_token": tokens.get("access_token"),
            },
        )
        claims.validate(now=int(now.timestamp()), leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError, TypeError) as exc:
        raise OidcError(f"the ID token does not hold: {type(exc).__name__} {exc}"[:300]) from exc
    email = claims.get("email")
    return Identity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) else None,
        email_verified=any(claims.get(name) is True for name in VERIFIED_CLAIMS),
    )
