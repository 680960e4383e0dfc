"""A planned maintenance window of one system, as declared and as shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from graph.model import SystemId


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    system: SystemId = Field(description="The system of the topology under maintenance.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        None, description="For the team (never shown on the public status page)."
    )


class Window(WindowIn):
    id: int
    created_at: datetime
