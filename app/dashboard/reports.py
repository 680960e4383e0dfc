"""The SLA report page and its downloads, and the overview's proactive warnings panel.

Both are computed by their domains (:func:`app.reports.service.sla_report`,
:func:`app.warnings.service.warnings_for`); here they are only given a period, guarded (a
workspace with no topology, a failing computation) and cached where the overview polls.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from app.dashboard.service import Scope
from app.errors import ApiError
from app.events.models import within_range
from app.reports.service import SlaReport, sla_report
from app.reports.views import MAX_PERIOD_DAYS
from app.runtime import Runtime
from app.warnings.models import Warning
from app.warnings.service import warnings_for

log = logging.getLogger("arbiter.dashboard")


# -- the period of a report --------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    since: datetime
    until: datetime
    since_day: str
    """The form's values: ``until_day`` is the last day included."""
    until_day: str


def _parse(text: str, *, end: bool) -> datetime:
    """A day (``2026-11-01``; as an end, the whole day is included) or an RFC 3339 moment."""
    value = text.strip()
    if len(value) == 10:
        day = date.fromisoformat(value)
        if end:
            day += timedelta(days=1)
        return datetime.combine(day, time(), UTC)
    moment = datetime.fromisoformat(value.replace(" ", "+").replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def period(since: str | None, until: str | None, now: datetime) -> Period | str:
    """The report's period (default: the current month up to now), or why it is not one.

    >>> now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    >>> p = period(None, None, now)
    >>> (p.since.isoformat(), p.until.isoformat(), p.since_day, p.until_day)
    ('2026-11-01T00:00:00+00:00', '2026-11-25T12:00:00+00:00', '2026-11-01', '2026-11-25')
    >>> period("2026-11-02", "2026-11-02", now).until.isoformat()
    '2026-11-03T00:00:00+00:00'
    >>> period("2026-11-20", "2026-11-10", now)
    'The period must start before it ends.'
    """
    try:
        end = _parse(until, end=True) if until and until.strip() else now
        start = (
            _parse(since, end=False)
            if since and since.strip()
            else end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        )
        within_range(start)
        within_range(end)
    except (ValueError, OverflowError):  # year 1 or 9999 with an offset overflows
        return "Dates are written like 2026-11-01 (or as RFC 3339 moments), from 1970 on."
    end = min(end, now)  # nothing is known about the future: a period ends now at the latest
    if start >= end:
        return "The period must start before it ends."
    if (end - start).days > MAX_PERIOD_DAYS:
        return f"A report may span {MAX_PERIOD_DAYS} days at most."
    last_day = (end - timedelta(microseconds=1)) if end.time() == time() else end
    return Period(start, end, start.date().isoformat(), last_day.date().isoformat())


def sla(runtime: Runtime, workspace_id: str, chosen: Period) -> tuple[SlaReport | None, str | None]:
    """The report, or None and why not (no topology yet, or the computation failed)."""
    try:
        return sla_report(runtime, workspace_id, chosen.since, chosen.until), None
    except ApiError as exc:
        return None, str(exc.detail)
    except Exception as exc:  # the page reports a failure; the service stays up
        log.exception("SLA report of %s failed", workspace_id)
        return None, f"The report could not be computed ({type(exc).__name__})."


def file_name(workspace_id: str, chosen: Period, extension: str) -> str:
    return f"sla-{workspace_id}-{chosen.since:%Y%m%d}-{chosen.until:%Y%m%d}.{extension}"


# -- warnings ---------------------------------------------------------------------------------

WARNING_CACHE_SECONDS = 30
"""The overview polls every few seconds; warnings compare hour-long windows, so a result
half a minute old says the same and saves reading the calls of two windows on every poll."""
_CACHE_SIZE = 64
_cache: dict[tuple[str, int, int], list[Warning]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Warnings:
    warnings: list[Warning]
    problem: str | None = None


def warnings(runtime: Runtime, scope: Scope) -> Warnings:
    if scope.topology is None:
        return Warnings([])
    workspace_id = scope.workspace.id
    try:
        index, _ = runtime.indexes.index(workspace_id)
        key = (
            workspace_id,
            index.version,
            int(scope.as_of.timestamp() // WARNING_CACHE_SECONDS),
        )
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return Warnings(cached)
        found = warnings_for(runtime, workspace_id, scope.as_of).warnings
    except Exception as exc:  # the panel is optional; the overview renders without it
        log.exception("warnings of %s failed", workspace_id)
        return Warnings([], f"Warnings could not be computed ({type(exc).__name__}).")
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = found
    return Warnings(found)
