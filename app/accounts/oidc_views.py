"""Signing in with an OpenID Connect provider the operator configured (``ARBITER_OIDC_PROVIDERS``).

``/signin/oidc/{provider}`` sends the browser to the provider with a fresh state, nonce and
PKCE verifier, kept sealed (``runtime.secrets``) in a short-lived cookie of that browser only;
``/signin/oidc/{provider}/callback`` takes the provider's answer, checks the state against the
cookie, trades the code and verifies the ID token (:mod:`app.auth.oidc`), then lets in the
account whose verified e-mail it carries, or the person invited under it. Nobody else: a
stranger is refused, and so is an address the provider does not vouch for.

The cookie is SameSite=Lax (the provider's redirect back is a cross-site navigation) and lives
under ``/signin/oidc`` only; every failure counts towards the address throttle.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Annotated

import httpx
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from app.accounts import service as accounts
from app.accounts.signins import client_address, record_signin, signin_page
from app.audit import service as audit
from app.auth import oidc, throttle
from app.auth.providers import OidcProvider
from app.dashboard.access import safe_next
from app.dashboard.pages import is_secure, public_base, see_other, signed_in_redirect
from app.dashboard.sessions import tokens_match, utc_now
from app.deps import RuntimeDep
from app.i18n import gettext as _
from app.runtime import Runtime
from connectors.http import EgressTransport

log = logging.getLogger("arbiter.accounts")

router = APIRouter(include_in_schema=False)

OIDC_COOKIE = "arbiter_oidc"
COOKIE_PATH = "/signin/oidc"
PENDING_FOR = timedelta(minutes=10)
"""How long a started sign-in waits for the provider's answer."""

QueryText = Annotated[str, Query(max_length=4000)]


def _provider(runtime: Runtime, provider_id: str) -> OidcProvider | None:
    return next((p for p in runtime.settings.oidc_providers if p.id == provider_id), None)


def _client(runtime: Runtime) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=5.0),
        transport=EgressTransport(runtime.settings.egress),
    )


def _callback_url(request: Request, runtime: Runtime, provider: OidcProvider) -> str:
    return f"{public_base(request, runtime)}/signin/oidc/{provider.id}/callback"


def _seal(runtime: Runtime, pending: oidc.Pending, now: datetime) -> str:
    return runtime.secrets.seal(
        {
            "provider": pending.provider,
            "state": pending.state,
            "nonce": pending.nonce,
            "verifier": pending.verifier,
            "next": pending.next or "",
            "until": (now + PENDING_FOR).isoformat(),
        }
    )


def _unseal(
    runtime: Runtime, sealed: str | None, provider_id: str, now: datetime
) -> oidc.Pending | None:
    """The sign-in this browser started with this provider, while it has not expired."""
    if not sealed or len(sealed) > 4000:
        return None
    try:
        opened = runtime.secrets.open(sealed)
        if not isinstance(opened, dict) or datetime.fromisoformat(opened["until"]) <= now:
            return None
        pending = oidc.Pending(
            provider=opened["provider"],
            state=opened["state"],
            nonce=opened["nonce"],
            verifier=opened["verifier"],
            next=opened["next"] or None,
        )
    except (ValueError, KeyError, json.JSONDecodeError):
        return None
    return pending if pending.provider == provider_id else None


def _refused(
    request: Request, next_path: str | None, message: str, status_code: int, *, failed: bool
) -> Response:
    if failed:
        throttle.failed(request)
    page = signin_page(request, next_path, message, status_code)
    page.delete_cookie(OIDC_COOKIE, path=COOKIE_PATH)
    return page


def _unreachable(provider: str) -> str:
    return _("%(provider)s cannot be reached for sign-in now. Try again later.") % {
        "provider": provider
    }


@router.get("/signin/oidc/{provider_id}")
async def start(
    request: Request,
    provider_id: str,
    runtime: RuntimeDep,
    next: Annotated[str | None, Query(max_length=2000)] = None,
) -> Response:
    provider = _provider(runtime, provider_id)
    if provider is None:
        return _refused(request, next, _("No such sign-in provider."), 404, failed=False)
    try:
        async with _client(runtime) as client:
            metadata = await oidc.discover(client, provider)
    except oidc.OidcError as exc:
        log.warning("OIDC provider %s: %s", provider.id, exc)
        message = _unreachable(provider.name)
        return _refused(request, next, message, 502, failed=False)
    now = utc_now()
    url, pending = oidc.authorization_url(
        provider, metadata, _callback_url(request, runtime, provider), safe_next(next)
    )
    response = see_other(url)
    response.set_cookie(
        OIDC_COOKIE,
        _seal(runtime, pending, now),
        max_age=int(PENDING_FOR.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=is_secure(request),
    )
    return response


@router.get("/signin/oidc/{provider_id}/callback")
async def callback(
    request: Request,
    provider_id: str,
    runtime: RuntimeDep,
    code: QueryText = "",
    state: QueryText = "",
    error: QueryText = "",
) -> Response:
    now = utc_now()
    provider = _provider(runtime, provider_id)
    pending = _unseal(runtime, request.cookies.get(OIDC_COOKIE), provider_id, now)
    if provider is None or pending is None or not tokens_match(state, pending.state):
        message = _("This sign-in expired or was not started in this browser. Please try again.")
        return _refused(request, None, message, 400, failed=True)
    if error or not code:
        message = (
            _("%(provider)s did not sign you in (%(error)s).")
            % {"provider": provider.name, "error": error[:100]}
            if error
            else _("%(provider)s did not sign you in.") % {"provider": provider.name}
        )
        return _refused(request, pending.next, message, 401, failed=False)
    try:
        throttle.check(request)
    except throttle.TooManyFailures:
        message = _("Too many failed sign-ins. Try again later.")
        return _refused(request, pending.next, message, 429, failed=False)
    try:
        async with _client(runtime) as client:
            metadata = await oidc.discover(client, provider)
            identity = await oidc.identify(
                client,
                provider,
                metadata,
                pending,
                code,
                _callback_url(request, runtime, provider),
                now,
            )
    except oidc.ProviderUnreachable as exc:
        log.warning("OIDC provider %s: %s", provider.id, exc)
        message = _unreachable(provider.name)
        return _refused(request, pending.next, message, 502, failed=False)
    except oidc.OidcError as exc:
        log.warning("OIDC sign-in with %s refused: %s", provider.id, exc)
        message = _("The sign-in with %(provider)s could not be verified. Please try again.") % {
            "provider": provider.name
        }
        return _refused(request, pending.next, message, 401, failed=True)
    if identity.email is None or not identity.email_verified:
        message = _(
            "%(provider)s did not confirm an e-mail address for this account, so Arbiter "
            "cannot tell whose it is. Sign in with e-mail and password instead."
        ) % {"provider": provider.name}
        return _refused(request, pending.next, message, 403, failed=True)
    email = identity.email
    user_agent = request.headers.get("user-agent", "")
    address = client_address(request)
    how = f"oidc:{provider.id}"

    def enter() -> str | None:
        with runtime.engine.begin() as connection:
            account, joined = accounts.account_for_verified_email(connection, email, now)
            if account is None:
                return None
            for ws, role in joined:
                audit.record(
                    connection,
                    ws,
                    account.email,
                    "invitation_accepted",
                    account.email,
                    now,
                    role=role,
                    via=how,
                )
            cookie, _csrf = accounts.open_session(connection, account.id, user_agent, now)
            record_signin(connection, account, how, now, address)
            return cookie

    cookie = await run_in_threadpool(enter)
    if cookie is None:
        message = _(
            "No Arbiter account has the address %(email)s. Ask an owner of your workspace "
            "to invite you."
        ) % {"email": email}
        return _refused(request, pending.next, message, 403, failed=True)
    response = signed_in_redirect(request, pending.next or "/workspaces", cookie)
    response.delete_cookie(OIDC_COOKIE, path=COOKIE_PATH)
    return response
