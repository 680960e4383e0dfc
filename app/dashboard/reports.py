"""The SLA report page and its downloads, and the overview's proactive warnings panel.

Both are computed by their domains (:func:`app.reports.service.sla_report`,
:func:`app.warnings.service.warnings_for`); here they are only given a period, guarded (a
workspace with no topology, a failing computation) and cached where the overview polls.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from app.dashboard.service import Scope
from app.events.models import within_range
from app.exceptions import ArbiterError
from app.i18n import gettext
from app.reports.claims import Day
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
        return gettext("Dates are written like 2026-11-01 (or as RFC 3339 moments), from 1970 on.")
    end = min(end, now)  # nothing is known about the future: a period ends now at the latest
    if start >= end:
        return gettext("The period must start before it ends.")
    if (end - start).days > MAX_PERIOD_DAYS:
        return gettext("A report may span %(days)d days at most.") % {"days": MAX_PERIOD_DAYS}
    last_day = (end - timedelta(microseconds=1)) if end.time() == time() else end
    return Period(start, end, start.date().isoformat(), last_day.date().isoformat())


def sla(runtime: Runtime, workspace_id: str, chosen: Period) -> tuple[SlaReport | None, str | None]:
    """The report, or None and why not (no topology yet, or the computation failed)."""
    try:
        return sla_report(runtime, workspace_id, chosen.since, chosen.until), None
    except ArbiterError as exc:
        return None, str(exc)
    except Exception as exc:  # the page reports a failure; the service stays up
        log.exception("SLA report of %s failed", workspace_id)
        problem = gettext("The report could not be computed (%(error)s).")
        return None, problem % {"error": type(exc).__name__}


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
        problem = gettext("Warnings could not be computed (%(error)s).")
        return Warnings([], problem % {"error": type(exc).__name__})
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = found
    return Warnings(found)


# -- the SLA page's charts (server-rendered SVG geometry; the template only draws it) ----------

OK_FILL, KEPT_FILL, BROKEN_FILL = "#2da44e", "#d4a72c", "#cf222e"
ORDERS_FILL, COST_FILL = "#415a77", "#fb8f44"
CHART_WIDTH, CHART_LEFT, CHART_RIGHT = 760, 150, 10
ROW_HEIGHT, ROW_GAP = 46, 14
_FLOORS = (0.999, 0.99, 0.95, 0.9, 0.5, 0.0)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class VendorRow:
    vendor: str
    top: float
    bars: list[Bar]
    promise_y: float | None
    promise: float | None


@dataclass(frozen=True)
class AvailabilityChart:
    width: int
    height: int
    left: int
    floor: float
    rows: list[VendorRow]
    labels: list[tuple[float, str]]


@dataclass(frozen=True)
class MoneyChart:
    currency: str
    width: int
    height: int
    left: int
    bottom: float
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    labels: list[tuple[float, str]]
    legend: tuple[tuple[float, str, str], ...] = (
        (CHART_LEFT, ORDERS_FILL, "orders held up (by the day the incident began)"),
        (CHART_LEFT + 300, COST_FILL, "running costs while the order flow was down"),
    )
    """(x, fill, text) of each key, drawn above the bars."""


def _day_labels(days: list[Day], step: float) -> list[tuple[float, str]]:
    """At most a dozen day labels under the bars (every n-th day)."""
    every = max(1, -(-len(days) // 12))
    return [
        (CHART_LEFT + step * (i + 0.5), f"{d.day:%m-%d}")
        for i, d in enumerate(days)
        if i % every == 0
    ]


def availability_chart(report: SlaReport) -> AvailabilityChart | None:
    """One row of day bars per vendor, scaled from a floor below the lowest day (and promise)
    to 100 %, the promise dashed; a day below its vendor's promise is red, any other day with
    downtime amber."""
    days = report.days
    vendors = sorted({v for d in days for v in d.availability})
    if not days or not vendors:
        return None
    promises = {p.vendor: p.availability_promised for p in report.penalties}
    lowest = min(
        [a for d in days for a in d.availability.values()]
        + [p for p in promises.values() if p is not None]
    )
    floor = next((f for f in _FLOORS if f < lowest), 0.0)
    step = (CHART_WIDTH - CHART_LEFT - CHART_RIGHT) / len(days)
    rows: list[VendorRow] = []
    for n, vendor in enumerate(vendors):
        top = 8 + n * (ROW_HEIGHT + ROW_GAP)
        promise = promises.get(vendor)

        def y(share: float, top: float = top) -> float:
            return top + ROW_HEIGHT * (1 - (max(share, floor) - floor) / (1 - floor))

        bars = []
        for i, day in enumerate(days):
            share = day.availability.get(vendor, 1.0)
            fill = OK_FILL if share >= 1 else KEPT_FILL
            if promise is not None and share < promise:
                fill = BROKEN_FILL
            bars.append(
                Bar(
                    x=CHART_LEFT + i * step + step * 0.1,
                    y=y(share),
                    width=step * 0.8,
                    height=max(top + ROW_HEIGHT - y(share), 1.0),
                    fill=fill,
                    title=f"{vendor} {day.day:%Y-%m-%d}: {_percent(share)}",
                )
            )
        rows.append(
            VendorRow(vendor, top, bars, y(promise) if promise is not None else None, promise)
        )
    height = 8 + len(vendors) * (ROW_HEIGHT + ROW_GAP) + 14
    return AvailabilityChart(CHART_WIDTH, height, CHART_LEFT, floor, rows, _day_labels(days, step))


def _percent(share: float) -> str:
    # Rounded down: a day with any downtime never reads 100 %.
    return f"{math.floor(share * 10000) / 100:.2f}%"


def _nice_top(peak: Decimal) -> Decimal:
    if peak <= 0:
        return Decimal(1)
    magnitude = Decimal(10) ** (len(str(int(peak))) - 1)
    for factor in (1, 2, 5, 10):
        if peak <= magnitude * factor:
            return magnitude * factor
    return magnitude * 10


def money_charts(report: SlaReport) -> list[MoneyChart]:
    """Per currency (amounts of different currencies never share an axis): per day, the value
    of the orders held up by the incidents that began that day beside the running costs spent
    while the order flow was down."""
    days = report.days
    currencies = sorted(
        {a.currency for d in days for a in d.value_affected}
        | {d.running_cost.currency for d in days if d.running_cost and d.running_cost.amount}
    )
    charts: list[MoneyChart] = []
    step = (CHART_WIDTH - CHART_LEFT - CHART_RIGHT) / max(len(days), 1)
    plot_top, bottom = 30.0, 190.0
    for currency in currencies:
        series = []
        for day in days:
            held = sum((a.amount for a in day.value_affected if a.currency == currency), Decimal(0))
            cost = day.running_cost
            spent = cost.amount if cost is not None and cost.currency == currency else Decimal(0)
            series.append((day, held, spent))
        top = _nice_top(max(max(h, s) for _, h, s in series))
        scale = (bottom - plot_top) / float(top)
        bars: list[Bar] = []
        for i, (day, held, spent) in enumerate(series):
            for j, (value, fill, what) in enumerate(
                ((held, ORDERS_FILL, "orders held up"), (spent, COST_FILL, "spent while down"))
            ):
                if value <= 0:
                    continue
                height = max(float(value) * scale, 1.0)
                bars.append(
                    Bar(
                        x=CHART_LEFT + i * step + step * (0.1 + 0.4 * j),
                        y=bottom - height,
                        width=step * 0.4,
                        height=height,
                        fill=fill,
                        title=f"{day.day:%Y-%m-%d}: {value:.2f} {currency} {what}",
                    )
                )
        ticks = [(bottom - float(top * k / 4) * scale, f"{top * k / 4:,.0f}") for k in range(5)]
        charts.append(
            MoneyChart(
                currency,
                CHART_WIDTH,
                int(bottom) + 26,
                CHART_LEFT,
                bottom,
                bars,
                ticks,
                _day_labels(days, step),
            )
        )
    return charts
