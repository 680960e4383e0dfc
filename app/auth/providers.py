"""The OpenID Connect providers the operator configures (``ARBITER_OIDC_PROVIDERS``, JSON).

One entry per provider; each becomes a button on the sign-in page. The discovery document is
read from the issuer (``/.well-known/openid-configuration``) unless ``discovery_url`` says
otherwise, and must name the same issuer.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class OidcProvider(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
        description="Names the provider in its URLs: /signin/oidc/<id>/callback.",
    )
    name: str = Field(min_length=1, max_length=60, description="The button's label.")
    issuer: str = Field(
        pattern=r"^https?://[^\s]+$",
        max_length=500,
        description="The issuer URL, exactly as the ID tokens name it.",
    )
    client_id: str = Field(min_length=1, max_length=500)
    client_secret: SecretStr
    discovery_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=500,
        description="Default: the issuer's /.well-known/openid-configuration.",
    )
    scope: str = Field(default="openid email profile", max_length=500)

    @property
    def discovery(self) -> str:
        return self.discovery_url or self.issuer.rstrip("/") + "/.well-known/openid-configuration"
