from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from app.fields import Name


class WorkspaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None


class WorkspaceOut(BaseModel):
    id: str
    name: str
    created_at: datetime
