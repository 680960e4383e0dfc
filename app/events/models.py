from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from graph.model import Event


class EventBatch(BaseModel):
    """The body of ``POST .../events`` (documentation: the route parses JSON and NDJSON itself)."""

    events: list[Event] = Field(min_length=1, max_length=10_000)


class Accepted(BaseModel):
    accepted: int = Field(description="Events stored by this request.")
    duplicates: int = Field(description="Events whose id the workspace already held.")


class EventPageOut(BaseModel):
    events: list[dict[str, Any]] = Field(description="Events as they were posted.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
