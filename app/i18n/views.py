"""The dashboard's language switch: the person's choice, kept in a cookie for a year."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse

from app.dashboard.access import safe_next
from app.i18n.negotiation import COOKIE, as_language

router = APIRouter(include_in_schema=False)

YEAR = 365 * 24 * 3600


@router.post("/language")
def choose_language(
    language: Annotated[str, Form(max_length=20)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
) -> RedirectResponse:
    """Sets the language and returns to the page it was chosen on. An unknown language only
    forgets the choice (the browser's Accept-Language decides again); it is a preference,
    not a change to anything, so it needs no sign-in and no CSRF token."""
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    chosen = as_language(language)
    if chosen is None:
        response.delete_cookie(COOKIE, path="/")
    else:
        response.set_cookie(COOKIE, chosen, max_age=YEAR, path="/", samesite="lax")
    return response
