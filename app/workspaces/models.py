from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: (
        Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
        | None
    ) = None


class WorkspaceOut(BaseModel):
    id: str
    name: str
    created_at: datetime
