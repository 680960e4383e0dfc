"""OAuth 1.0a request signing for httpx, done by ``oauthlib`` (no hand-rolled signatures).

Two vendors need it:

- WooCommerce over plain ``http://`` accepts only a one-legged OAuth 1.0a signature (consumer key
  and secret, no token), with the ``oauth_*`` parameters in the query string, HMAC-SHA256.
- Magento 2.4.4+ refuses an integration's access token as a bearer token (unless the merchant
  switches ``oauth/consumer/enable_integration_as_bearer`` on); clients sign with the four
  credentials (consumer key/secret, access token/secret) in the ``Authorization`` header.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Literal, cast

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_QUERY
from oauthlib.oauth1 import Client as OAuthClient

HttpMethod = Literal["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"]


class OAuth1(httpx.Auth):
    """Signs each request (body not signed: only GETs and JSON bodies are sent this way)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        *,
        token: str | None = None,
        token_secret: str | None = None,
        in_query: bool = False,
    ):
        self._client = OAuthClient(
            consumer_key,
            client_secret=consumer_secret,
            resource_owner_key=token or None,
            resource_owner_secret=token_secret or None,
            signature_method=SIGNATURE_HMAC_SHA256,
            signature_type=SIGNATURE_TYPE_QUERY if in_query else SIGNATURE_TYPE_AUTH_HEADER,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        method = cast(HttpMethod, request.method.upper())
        uri, headers, _ = self._client.sign(str(request.url), http_method=method)
        request.url = httpx.URL(uri)
        if "Authorization" in headers:
            request.headers["Authorization"] = headers["Authorization"]
        yield request
