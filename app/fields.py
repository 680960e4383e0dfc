"""The text fields the API takes, one alias each: bounded, and without NUL (a PostgreSQL text
cannot hold one; the request is refused with 422 instead of failing at the store)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

NO_NUL = r"^[^\x00]*$"

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
"""A name as given: a token's, an integration's, a workspace's, who acknowledged or wrote."""

StrippedName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=NO_NUL)
]
"""A name without the spaces around it (a channel's)."""

NoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10000, pattern=NO_NUL)
]
"""An incident note's text, without the spaces around it."""
