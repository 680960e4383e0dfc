"""The channel API's shapes. A channel's URL is write-only: it is read back masked."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from app.fields import StrippedName
from app.incidents.lifecycle import ALERT_EVENTS, AlertEvent


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrippedName
    url: SecretStr = Field(
        description="An apprise URL: slack://..., msteams://..., mailtos://..., tgram://..., "
        "json://host/path (generic webhook) and about a hundred more. Stored encrypted; "
        "read back masked.",
        examples=["slack://TokenA/TokenB/TokenC/#alerts"],
    )
    events: list[AlertEvent] = Field(
        default_factory=lambda: list(ALERT_EVENTS),
        min_length=1,
        description="Which incident events it receives: open, escalate, resolve.",
    )

    @field_validator("events")
    @classmethod
    def _unique(cls, events: list[AlertEvent]) -> list[AlertEvent]:
        return list(dict.fromkeys(events))


class Channel(BaseModel):
    id: str
    name: str
    url: str = Field(description="Masked: the service and host only, secrets hidden.")
    events: list[AlertEvent]
    created_at: datetime


class DeliveryResult(BaseModel):
    channel_id: str
    event: str
    time: datetime
    ok: bool
    attempts: int
    error: str | None
