"""How WooCommerce authenticates REST API keys, both sides, by ``oauthlib`` (RFC 5849).

WooCommerce (``WC_REST_Authentication``) accepts HTTP Basic or the ``consumer_key`` /
``consumer_secret`` query parameters only over HTTPS. Over plain HTTP it reads only a one-legged
OAuth 1.0a signature (query string or ``Authorization: OAuth``; HMAC-SHA1 or HMAC-SHA256, the
key being ``consumer_secret&``), refuses a timestamp more than 15 minutes off and a nonce seen
before. Without any of these the request is anonymous, and the endpoint's permission check
answers 401 ``woocommerce_rest_cannot_view``: what a shop without TLS answers to Basic auth.

:class:`SignedQuery` is the client side, for the sandbox's own OMS integration (the sandbox does
not import the service's connectors).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Callable, Generator, Mapping
from typing import Any, Literal, cast
from urllib.parse import parse_qsl

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_QUERY
from oauthlib.oauth1 import Client as OAuthClient
from oauthlib.oauth1.rfc5849 import signature

from sandbox.woo_format import WooError

REQUIRED = (
    "oauth_consumer_key",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
    "oauth_signature_method",
)
MAX_SKEW_SECONDS = 15 * 60
# The stubs leave the *_with_client signers unannotated: (base string, client) -> signature.
_SIGN: dict[str, Callable[[str, Any], str]] = {
    "HMAC-SHA1": signature.sign_hmac_sha1_with_client,
    "HMAC-SHA256": signature.sign_hmac_sha256_with_client,
}
Method = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]


class _Secrets:
    """What oauthlib's signers read: the consumer secret and the token secret ("" one-legged)."""

    def __init__(self, client_secret: str, resource_owner_secret: str = "") -> None:
        self.client_secret = client_secret
        self.resource_owner_secret = resource_owner_secret


class WooAuthenticator:
    """Checks one request's credentials as WooCommerce does; raises :class:`WooError`."""

    def __init__(
        self, consumer_key: str, consumer_secret: str, *, now: Callable[[], float] = time.time
    ) -> None:
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self._now = now
        self._nonces: dict[str, float] = {}

    def check(
        self,
        *,
        method: str,
        url: str,
        query: str,
        headers: Mapping[str, str],
        secure: bool,
        revoked: bool = False,
    ) -> None:
        params = dict(httpx.QueryParams(query).multi_items())
        header = headers.get("authorization", "")
        if secure:
            key, secret = params.get("consumer_key"), params.get("consumer_secret")
            if header.lower().startswith("basic "):
                key, secret = _basic(header)
            if key:
                self._keys(key, secret, revoked)
                return
        # Only an "OAuth" Authorization header carries signature parameters (oauthlib rejects
        # any other scheme's header as malformed).
        signed = {"Authorization": header} if header.lower().startswith("oauth ") else None
        oauth = dict(
            signature.collect_parameters(
                uri_query=query, headers=signed, exclude_oauth_signature=False
            )
        )
        if not any(name.startswith("oauth_") for name in oauth):
            # Anonymous (Basic and query keys are not read over plain HTTP): the endpoint's
            # permission check refuses it.
            verb = "list" if method == "GET" else "create"
            code = (
                "woocommerce_rest_cannot_view"
                if method == "GET"
                else "woocommerce_rest_cannot_create"
            )
            raise WooError(401, code, f"Sorry, you cannot {verb} resources.")
        self._oauth(method, url, query, signed, oauth, revoked)

    def _keys(self, key: str | None, secret: str | None, revoked: bool) -> None:
        if revoked or key != self.consumer_key:
            raise WooError(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
        if secret != self.consumer_secret:
            raise WooError(
                401, "woocommerce_rest_authentication_error", "Consumer secret is invalid."
            )

    def _oauth(
        self,
        method: str,
        url: str,
        query: str,
        signed: dict[str, str] | None,
        oauth: dict[str, str],
        revoked: bool,
    ) -> None:
        for name in REQUIRED:
            if not oauth.get(name):
                raise _auth_error(f"Missing OAuth parameter {name}")
        if revoked or oauth["oauth_consumer_key"] != self.consumer_key:
            raise _auth_error("Consumer key is invalid.")
        if oauth["oauth_signature_method"] not in _SIGN:
            raise _auth_error("Invalid signature - signature method is invalid.")
        if not signature_matches(
            method, url, query, signed, oauth["oauth_signature"], self.consumer_secret
        ):
            raise _auth_error("Invalid signature - provided signature does not match.")
        now = self._now()
        try:
            stamp = float(oauth["oauth_timestamp"])
        except ValueError as exc:
            raise _auth_error("Invalid timestamp.") from exc
        if abs(now - stamp) > MAX_SKEW_SECONDS:
            raise _auth_error("Invalid timestamp.")
        self._nonces = {n: t for n, t in self._nonces.items() if now - t <= MAX_SKEW_SECONDS}
        nonce = oauth["oauth_nonce"]
        if nonce in self._nonces:
            raise _auth_error("Invalid nonce - nonce has already been used.")
        self._nonces[nonce] = now


def signature_matches(
    method: str,
    url: str,
    query: str,
    signed: dict[str, str] | None,
    sent: str,
    consumer_secret: str,
    token_secret: str = "",
) -> bool:
    """Whether ``sent`` is the RFC 5849 signature of the request (HMAC-SHA1 or -SHA256, as its
    ``oauth_signature_method`` says), ``signed`` being its ``Authorization: OAuth`` header."""
    oauth = dict(signature.collect_parameters(uri_query=query, headers=signed))
    signer = _SIGN.get(oauth.get("oauth_signature_method", ""))
    if signer is None:
        return False
    # PHP reads a repeated query key once (the last value wins in $_GET), and the PHP servers
    # sign what PHP read: the official WooCommerce client repeats its params, so this matters.
    from_query = dict(parse_qsl(query, keep_blank_values=True))
    from_query.pop("oauth_signature", None)
    params: Any = [*from_query.items(), *signature.collect_parameters(headers=signed)]
    base = signature.signature_base_string(
        cast(Method, method.upper()),
        signature.base_string_uri(url),
        signature.normalize_parameters(params),  # a list of pairs: keys may repeat
    )
    expected = signer(base, _Secrets(consumer_secret, token_secret))
    return hmac.compare_digest(expected, sent)


class SignedQuery(httpx.Auth):
    """Client side: one-legged OAuth 1.0a in the query string, HMAC-SHA256."""

    def __init__(self, consumer_key: str, consumer_secret: str) -> None:
        self._client = OAuthClient(
            consumer_key,
            client_secret=consumer_secret,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_QUERY,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        uri, _, _ = self._client.sign(
            str(request.url), http_method=cast(Method, request.method.upper())
        )
        request.url = httpx.URL(uri)
        yield request


def _basic(header: str) -> tuple[str | None, str | None]:
    try:
        key, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    return key, secret


def _auth_error(message: str) -> WooError:
    return WooError(401, "woocommerce_rest_authentication_error", message)
