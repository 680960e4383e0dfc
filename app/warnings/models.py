"""Proactive warnings: what is about to go wrong, distinct from incidents (what went wrong)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from graph.results import LinkRef
from graph.text import Text

WarningKind = Literal[
    "error_rate_rising",
    "backlog_growing",
    "latency_rising",
    "silent",
    "credentials_failing",
    "credentials_expiring",  # kept in /api/v1's schema; nothing reports expiring credentials
    "rate_limit_pressure",
    "rate_limit_headroom_low",
    "webhook_failing",  # kept in /api/v1's schema; no system reports its failed deliveries
    "webhook_disabled",
    "connector_stopped",
    "connector_error",
    "certificate_expiring",
    "page_slow",
    "page_failing",
]
Severity = Literal["info", "warning", "critical"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


class Warning(BaseModel):  # the domain's word; builtins.Warning is not needed here
    kind: WarningKind
    severity: Severity
    link: LinkRef | None = Field(default=None, description="The link it is about, if any.")
    system: str | None = Field(default=None, description="The system it is about, if any.")
    message: str
    since: datetime | None = Field(default=None, description="When the condition began.")
    evidence: dict[str, Any] = Field(default_factory=dict)
    _text: Text | None = PrivateAttr(default=None)

    @classmethod
    def said(cls, text: Text, **fields: Any) -> Warning:
        """A warning whose message is ``text``: in English for the API, kept as a text so a
        page in another language can say it (graph.text)."""
        made = cls(message=str(text), **fields)
        made._text = text
        return made

    @property
    def message_text(self) -> Text | None:
        return self._text


class WarningList(BaseModel):
    as_of: datetime
    window_seconds: float
    warnings: list[Warning] = Field(description="Most severe first.")
