"""What every way of signing in shares: the sign-in page with a refusal, the audit entry."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request, Response
from sqlalchemy import Connection

from app.accounts import service as accounts
from app.audit import service as audit
from app.dashboard.access import safe_next
from app.dashboard.pages import public_form_page


def signin_page(
    request: Request, next_path: str | None, error: str, status_code: int, email: str = ""
) -> Response:
    context = {"next": safe_next(next_path), "error": error, "email": email}
    return public_form_page(request, "signin.html", context, status_code)


def record_signin(
    connection: Connection, account: accounts.Account, how: str, now: datetime, address: str
) -> None:
    """A ``signed_in`` entry in the trail of each workspace of the account."""
    for ws in account.roles:
        audit.record(
            connection, ws, account.email, "signed_in", account.email, now, via=how, address=address
        )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
