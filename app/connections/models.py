from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

MASK = "********"


class ConnectionIn(BaseModel):
    """How Arbiter reaches a system. Secrets are write-only: a credential sent back as the mask
    keeps its stored value (unless ``base_url`` moves to another scheme, host or port: then the
    secrets must be sent again); an omitted ``webhook_secret`` keeps the stored one, "" clears
    it."""

    model_config = ConfigDict(extra="forbid")

    base_url: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        default=None, description="The system's API root, e.g. https://shop.example.com"
    )
    credentials: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=100)],
        Annotated[str, StringConstraints(max_length=4000)],
    ] = Field(default_factory=dict, description="Per kind: see the README's connection table.")
    webhook_secret: SecretStr | None = Field(
        default=None, description="Secret that signs this system's webhooks."
    )
    poll_interval_seconds: float = Field(default=60, ge=1, le=86400)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        parts = urlsplit(value)
        # A fragment would silently cut off the path every connector appends, and userinfo
        # would send credentials the write-only fields do not guard.
        if "#" in value:
            raise ValueError("must not hold a fragment (#...)")
        if "@" in parts.netloc:
            raise ValueError("must not hold user:password@; put credentials in credentials")
        try:
            parts.port  # noqa: B018 - raises on a port out of range or not a number
        except ValueError as exc:
            raise ValueError("has an invalid port") from exc
        if not parts.hostname:
            raise ValueError("must name a host")
        return value


def origin(url: str | None) -> tuple[str, str, int | None] | None:
    """(scheme, host, port) of a URL: changing any of them changes who receives the secrets.

    >>> origin("https://Shop.example.com/wp-json") == origin("https://shop.example.com:443")
    True
    """
    if url is None:
        return None
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class ConnectionOut(BaseModel):
    system: str
    kind: str
    base_url: str | None
    credentials: dict[str, str] = Field(description=f"Secret fields read back as {MASK!r}.")
    webhook_secret_set: bool
    webhook_url: str = Field(description="Where the system should send its webhooks.")
    poll_interval_seconds: float
    polling: bool = Field(description="Whether Arbiter polls this system.")
    status: dict[str, Any] = Field(description="Last poll, last error, rate-limit headroom.")


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class ConnectionTestOut(BaseModel):
    ok: bool
    checks: list[CheckOut]
