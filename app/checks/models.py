"""A storefront or hosting check as a script PUTs it, and as the API shows it with its results.

Kinds:

- ``http``: GET ``url`` (a page: ``home``, ``product``, ``checkout``); a 2xx answer holding
  ``expect_text`` (when set) passes. ``slow_factor`` warns when the page takes that many times
  its usual time, and at least 0.3 s more.
- ``tls``: a TLS handshake with ``host`` (``port`` 443): the certificate's days to expiry (a
  warning within 14 days); ``verify_tls`` false accepts a certificate no public authority
  signed (a self-signed one on a staging host) and still reads its date.
- ``dns``: ``host`` resolves to at least one address.
- ``smtp``: the mail server at ``host`` (``port`` 25) greets with ``220``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from graph.model import SystemId

CheckKind = Literal["http", "tls", "dns", "smtp"]
Page = Literal["home", "product", "checkout", "other"]
CheckId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]

MIN_INTERVAL_SECONDS = 30.0
DEFAULT_PORTS: dict[str, int] = {"tls": 443, "smtp": 25}


class CheckIn(BaseModel):
    """What to check, against which system of the topology, and how often."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: CheckKind
    target: SystemId = Field(
        description="The system of the topology that answers for what is checked: the shop, "
        "or a `hosting` system when the topology has one. Results are `call` events from "
        "`arbiter` to it."
    )
    url: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="http: the page's address (http or https)."
    )
    host: Annotated[str, StringConstraints(min_length=1, max_length=253)] | None = Field(
        None, description="tls, dns, smtp: the host name."
    )
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        None, description="tls: 443 unless set; smtp: 25 unless set."
    )
    page: Page = "other"
    expect_text: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    slow_factor: Annotated[float, Field(ge=1.1, le=100, allow_inf_nan=False)] | None = Field(
        None,
        description="http: warn when the page takes this many times its usual time (the "
        "median of its recent passing runs, from 5 runs on), and at least 0.3 s more.",
    )
    verify_tls: bool = True
    interval_seconds: Annotated[
        float, Field(ge=MIN_INTERVAL_SECONDS, le=86400, allow_inf_nan=False)
    ] = 300.0
    timeout_seconds: Annotated[float, Field(gt=0, le=60, allow_inf_nan=False)] = 10.0
    enabled: bool = True


class Result(BaseModel):
    """One run of a check, as stored in the ``call`` event and shown in the check's status."""

    at: datetime
    ok: bool
    status: int | None = Field(
        description="HTTP status; for tls, dns and smtp 200 when answered as expected, 503 "
        "when the server answered but refused service, null when nothing answered."
    )
    duration_ms: float
    error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Check(CheckIn):
    id: CheckId
    updated_at: datetime
    last: Result | None = None
    usual_ms: float | None = Field(None, description="The median of recent passing runs.")
    slow: bool = False
    days_left: float | None = Field(None, description="tls: days to the certificate's expiry.")
