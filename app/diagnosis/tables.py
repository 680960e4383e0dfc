"""What the diagnosis index keeps across restarts."""

from __future__ import annotations

from sqlalchemy import Table

from app.db.tables import metadata, moment, string, workspace_column

open_journeys = Table(
    "open_journeys",
    metadata,
    workspace_column(primary_key=True),
    string("namespace", 100, primary_key=True),
    string("value", 200, primary_key=True),
    moment("recorded_at"),
)
"""One identifier of each journey still open (a hop failed or pending) and quiet since before
the live period: the index reads these back from the store at a restart, so that it diagnoses
as the process before it did (app.diagnosis.service)."""
