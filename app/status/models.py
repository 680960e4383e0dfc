"""The status page's settings, the merchant's updates, and what the public page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.status.texts import Language, TemplateKey

State = Literal["operational", "degraded", "unavailable", "maintenance"]


class StatusPageIn(BaseModel):
    """How the shop's public status page looks, and whether it is published."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(False, description="Published at /status/{ws} when true (opt-in).")
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
    language: Language = "en"
    logo_url: (
        Annotated[str, StringConstraints(max_length=500, pattern=r"^https://[^\s\"'<>\\]+$")] | None
    ) = Field(None, description="An https:// image address.")
    accent: Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")] = "#2563eb"
    contact_email: (
        Annotated[
            str,
            StringConstraints(max_length=200, pattern=r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$"),
        ]
        | None
    ) = None
    contact_phone: (
        Annotated[str, StringConstraints(max_length=40, pattern=r"^\+?[0-9][0-9 ()-]{3,38}$")]
        | None
    ) = None


class StatusPage(StatusPageIn):
    updated_at: datetime


class UpdateIn(BaseModel):
    """An update for customers: a template (in the page's language), or a message of one's
    own, or both (the message then replaces the template's text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    template: TemplateKey | None = None
    message: (
        Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
        | None
    ) = None


class Update(BaseModel):
    id: int
    posted_at: datetime
    template: TemplateKey | None
    message: str


class Notice(BaseModel):
    """One thing customers feel now (or will: planned maintenance), and since when."""

    text: str
    since: datetime
    until: datetime | None = None


class PastIncident(BaseModel):
    started: datetime
    ended: datetime | None
    text: str


class FeedItem(BaseModel):
    id: str
    at: datetime
    text: str


class PublicStatus(BaseModel):
    """Everything the public page, its feeds and its banner show: nothing else leaves."""

    name: str
    language: Language
    logo_url: str | None
    accent: str
    state: State
    headline: str
    now: list[Notice]
    planned: list[Notice]
    items: list[FeedItem]
    history: list[PastIncident]
    as_of: datetime
