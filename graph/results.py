"""The results of a diagnosis, shaped exactly as the JSON of CONTRACT.md.

``model_dump(mode="json", by_alias=True)`` of each model is the wire form: times are RFC 3339
in UTC with ``Z``, a link is ``{"flow", "from", "to"}``.

Evidence entities are ``{"namespace", "value"}`` objects rather than ``"ns:value"`` strings,
because both namespaces and values may contain colons; each one is a ready argument for
``GET .../traces/{namespace}/{value}``.

>>> from datetime import UTC, datetime
>>> Diagnosis(as_of=datetime(2026, 11, 25, 12, tzinfo=UTC), suspects=[]).model_dump(
...     mode="json", by_alias=True)
{'as_of': '2026-11-25T12:00:00Z', 'window_seconds': 86400.0, 'suspects': []}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from graph.hops import HopStatus, Mode
from graph.text import Text

LinkStatus = Literal["healthy", "degraded", "failed", "blocked", "no_data"]


class _Result(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class _Summarized(_Result):
    """A result whose ``summary`` (English, the API's) also exists as a :class:`Text` for the
    app to translate; the text is private, so the JSON and its schema stay as they are."""

    _text: Text | None = PrivateAttr(default=None)

    @property
    def summary_text(self) -> Text | None:
        return self._text

    def with_text(self, text: Text) -> Self:
        self._text = text
        return self


class LinkRef(_Result):
    flow: str
    from_: str = Field(alias="from")
    to: str


class EntityRef(_Result):
    namespace: str
    value: str


class CallEvidence(_Result):
    """One call event: who called whom, when, and what came back."""

    id: str
    time: datetime
    flow: str
    caller: str
    target: str
    status: int | None
    error: str | None
    duration_ms: float
    link_level: bool = Field(description="the call named no entity: evidence about its link")


class Evidence(_Result):
    entities: list[EntityRef]
    calls: list[CallEvidence]


class Suspect(_Summarized):
    """A link (or, for ``down``, a system) blamed for failed hops in the window."""

    link: LinkRef | None
    system: str | None
    mode: Mode
    responsible: str
    confidence: float = Field(ge=0, le=1)
    affected: int
    healthy: int
    first_seen: datetime
    last_seen: datetime
    summary: str
    evidence: Evidence
    flow: str | None = Field(default=None, description="the flow of ``link``; null for down")
    links: list[LinkRef] = Field(
        default_factory=list, description="for down: the system's failing links"
    )
    score: float = Field(default=0.0, description="DStar suspiciousness, the ranking key")


class Diagnosis(_Result):
    as_of: datetime
    window_seconds: float = 86400.0
    suspects: list[Suspect]


class TraceHop(_Result):
    flow: str
    link: LinkRef
    status: HopStatus
    mode: Mode | None
    responsible: str | None
    entered: datetime | None = Field(description="when the entity was seen at the from side")
    arrived: datetime | None
    deadline: datetime | None
    calls: list[CallEvidence]
    blamed: bool = Field(description="the first failed hop: the only one counted against a link")
    detail: str | None = None
    quantities: dict[str, float | int | None] | None = Field(
        default=None, description="stock: the from and to sides' quantities"
    )
    _said: Text | None = PrivateAttr(default=None)

    @property
    def detail_text(self) -> Text | None:
        """``detail`` as a text the app can say in another language; not in the JSON."""
        return self._said

    def with_detail_text(self, text: Text | None) -> Self:
        self._said = text
        return self


class Trace(_Result):
    as_of: datetime
    entity: EntityRef
    refs: dict[str, list[str]]
    events: list[dict[str, Any]]
    hops: list[TraceHop]
    failure: TraceHop | None


class EntityCounts(_Result):
    ok: int = 0
    pending: int = 0
    failed: int = 0
    blocked: int = 0


class LinkHealth(_Result):
    link: LinkRef
    status: LinkStatus
    initiator: Literal["from", "to"]
    owner: str
    sla_seconds: float
    last_success: datetime | None = Field(description="latest entity that completed the hop")
    entities: EntityCounts
    calls: int
    failed_calls: int
    call_error_rate: float | None
    mode: Mode | None
    responsible: str | None
    summary: str | None = None


class SystemQuantity(_Result):
    system: str
    quantity: float | int
    since: datetime
    observed: datetime


class StockDrift(_Summarized):
    sku: str
    entity: EntityRef
    flow: str
    quantities: list[SystemQuantity]
    status: Literal["pending", "failed"]
    link: LinkRef | None
    mode: Mode | None
    responsible: str | None
    oversell_risk: bool
    since: datetime | None
    summary: str


def utc(seconds: float) -> datetime:
    """Epoch seconds as an aware UTC datetime (serialised with ``Z``).

    >>> utc(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(seconds, UTC)


def maybe_utc(seconds: float | None) -> datetime | None:
    return None if seconds is None else utc(seconds)
