from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

from app.telemetry import metrics
from graph.model import Event

log = logging.getLogger("arbiter.events")

MAX_DEPTH = 32
"""Deepest nesting of lists and objects stored in ``data``: enough for any real payload, and
far from the recursion limits of the JSON readers every read path goes through."""

MAX_INT = 2**63 - 1
"""Integers beyond a signed 64-bit value are refused: other readers of the stored JSON
(PostgreSQL's jsonb, JavaScript, OTLP) cannot hold them."""

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""Event times outside these are a broken clock, not an observation (and at the ends of the
calendar, converting an offset to UTC overflows)."""


def within_range(moment: datetime) -> datetime:
    """``moment`` when it lies in [:data:`EARLIEST`, :data:`LATEST`) (a naive one is read as
    UTC), else ValueError: a query or cursor time the store and every computation can hold."""
    try:
        in_range = EARLIEST <= (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) < LATEST
    except (OverflowError, ValueError):
        in_range = False
    if not in_range:
        raise ValueError(f"must be from {EARLIEST:%Y} up to {LATEST:%Y} (UTC)")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(within_range)]
"""An RFC 3339 time with an offset, within the range the store holds (query parameters)."""

NaiveOrAwareMoment = Annotated[datetime, AfterValidator(within_range)]
"""Like :data:`Moment`, but a time without an offset is taken as UTC."""


def storable_problems(event: Event) -> list[tuple[list[str | int], str]]:
    """(loc within the event, reason) for each value the store could not give back as it was
    taken: a lone surrogate or a NUL in a string, a number out of range, nesting over
    :data:`MAX_DEPTH`, a time outside [:data:`EARLIEST`, :data:`LATEST`).

    Every way in (events API, OTLP, webhooks, pollers) validates with this, so everything
    stored can be read back by every read path.

    >>> e = Event.model_validate({"id": "e\\x00", "time": "2026-11-25T10:00:00Z",
    ...     "flow": "order", "kind": "seen", "system": "shop", "refs": {"shop": "1"},
    ...     "data": {"k": "\\udfff"}})
    >>> [loc for loc, _ in storable_problems(e)]
    [['id'], ['data', 'k']]
    """
    problems: list[tuple[list[str | int], str]] = []
    try:
        in_range = EARLIEST <= event.time.astimezone(UTC) < LATEST
    except (OverflowError, ValueError):
        in_range = False
    if not in_range:
        problems.append((["time"], f"must be from {EARLIEST:%Y} up to {LATEST:%Y} (UTC)"))
    top: dict[str, Any] = {
        "id": event.id,
        "state": event.state,
        "quantity": event.quantity,
        "refs": event.refs,
        "data": event.data,
    }
    if event.outcome is not None:
        top["outcome"] = {"error": event.outcome.error}
    if _clean(top.values()):  # the common case, without building a place for every value
        return problems
    for name, value in top.items():
        problems.extend(value_problems(value, [name]))
    return problems


def storable(event: Event) -> bool:
    """Whether :func:`storable_problems` finds nothing in ``event``: its common case in one
    cheap pass (every text of the event but ``data``'s joined and looked at once), and
    :func:`storable_problems` itself when anything may be wrong.

    >>> e = Event.model_validate({"id": "e", "time": "2026-11-25T10:00:00Z", "flow": "order",
    ...     "kind": "seen", "system": "shop", "refs": {"shop": "1"}, "data": {"k": "\\udfff"}})
    >>> storable(e), storable(e.model_copy(update={"data": {"k": "ż"}}))
    (False, True)
    """
    try:
        if not EARLIEST <= event.time.astimezone(UTC) < LATEST:
            return False
    except (OverflowError, ValueError):
        return False
    refs, state, outcome = event.refs, event.state, event.outcome
    text = "".join([event.id, *refs, *refs.values()])
    if state is not None:
        text += state
    if outcome is not None and outcome.error is not None:
        text += outcome.error
    values = (event.quantity, event.data)
    if "\x00" in text or not text.isascii() or (values != (None, None) and not _clean(values)):
        return not storable_problems(event)
    return True


def _clean(values: Iterable[Any]) -> bool:
    """True when :func:`value_problems` finds nothing in any of ``values`` (each walked from
    depth 0); False when it may find something (then it is asked)."""
    stack: list[tuple[Any, int]] = [(value, 0) for value in values]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            if "\x00" in item or (not item.isascii() and text_problem(item)):
                return False
        elif item is None or kind is bool:
            continue
        elif kind is int:
            if not -MAX_INT - 1 <= item <= MAX_INT:
                return False
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is dict:
            if depth >= MAX_DEPTH:
                return False
            for key, child in item.items():
                if type(key) is str and ("\x00" in key or not key.isascii()):
                    return False
                stack.append((child, depth + 1))
        elif kind is list:
            if depth >= MAX_DEPTH:
                return False
            stack.extend((child, depth + 1) for child in item)
        else:  # another type: the full walk decides
            return False
    return True


def value_problems(value: Any, loc: list[str | int]) -> list[tuple[list[str | int], str]]:
    """Problems of one JSON value, walked without recursion (its depth is what is checked)."""
    problems: list[tuple[list[str | int], str]] = []
    stack: list[tuple[Any, list[str | int], int]] = [(value, loc, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, str):
            reason = text_problem(item)
            if reason:
                problems.append((where, reason))
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            if not -MAX_INT - 1 <= item <= MAX_INT:
                problems.append((where, "integer out of the signed 64-bit range"))
        elif isinstance(item, float):
            if not math.isfinite(item):
                problems.append((where, "number must be finite"))
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                problems.append((where, f"nested deeper than {MAX_DEPTH} levels"))
                continue
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and text_problem(key):
                    problems.append(([*where, key], f"key: {text_problem(key)}"))
                    continue
                stack.append((child, [*where, key], depth + 1))
    problems.reverse()  # the stack walks backwards: report in document order
    return problems


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored and read back, or None."""
    if "\x00" in text:
        return "must not contain NUL (\\u0000)"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode (a lone surrogate such as \\udfff is not)"
    return None


def read_stored(workspace_id: str, seq: int, body: str) -> Event | None:
    """The stored event, or None when it cannot be read back (logged and counted): one bad
    row, stored before the checks above or altered in the store, must never fail a read."""
    try:
        return Event.model_validate_json(body)
    except (ValueError, RecursionError) as exc:  # pydantic's ValidationError is a ValueError
        _unreadable(workspace_id, seq, exc)
        return None


def read_stored_json(workspace_id: str, seq: int, body: str) -> dict[str, Any] | None:
    """The stored event as JSON data for an answer, or None (logged and counted) when it
    could not be sent back as valid JSON."""
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as exc:
        _unreadable(workspace_id, seq, exc)
        return None
    problems = value_problems(value, []) if isinstance(value, dict) else [([], "not an object")]
    if problems:
        _unreadable(workspace_id, seq, ValueError(problems[0][1]))
        return None
    return value  # type: ignore[no-any-return]


_reported: set[tuple[str, int]] = set()
"""Rows already logged and counted: every read meets them again, the report is once."""


def _unreadable(workspace_id: str, seq: int, exc: BaseException) -> None:
    if (workspace_id, seq) in _reported:
        return
    if len(_reported) < 100_000:
        _reported.add((workspace_id, seq))
    log.error(
        "stored event %s of workspace %s cannot be read back and is skipped: %s",
        seq,
        workspace_id,
        f"{type(exc).__name__}: {str(exc)[:200]}",
    )
    metrics.record_unreadable(workspace_id)


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
