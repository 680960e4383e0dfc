"""Pure rules from link figures, activity and connector status to proactive warnings.

Each rule compares the recent window (``[as_of - window, as_of]``) with the one before it:

- ``error_rate_rising``: at least 5 calls on a link, at least 10 % of them failed, and at least
  twice the rate of the window before (critical from 50 %). A link already ``failed`` is an
  incident's business and gets no warning.
- ``backlog_growing``: at least 5 entities wait on a link within their SLA, at least twice as
  many as a window ago.
- ``latency_rising``: the 95th percentile call duration on a link at least doubled and is above
  one second; critical when it reaches half the link's SLA.
- ``silent``: a system sent nothing for ``silence_factor`` times its usual gap between events
  (its poll interval when its connector reported one), and at least ``silence_min_seconds``.
- From Arbiter's own probes (system ``arbiter``): ``credentials_failing`` (401/403; critical
  when the latest probe was refused) and ``rate_limit_pressure`` (at least 10 % of probes
  answered 429).
- From connector status (see :mod:`app.warnings.service`): ``rate_limit_headroom_low``,
  ``webhook_disabled``, ``connector_stopped``,
  ``connector_error`` (also for each warning the connector raised about an answer it cannot
  read) and ``credentials_failing`` when the last poll was refused (an ``AuthError``: over
  BaseLinker's HTTP 200 error bodies too, which no probe status shows).
- From the storefront checks (:mod:`app.checks.warnings`): ``page_failing``,
  ``certificate_expiring`` and ``page_slow``.

>>> from datetime import UTC, datetime
>>> now = datetime(2026, 11, 25, 12, tzinfo=UTC)
>>> [w.kind for w in connector_warnings("oms", {"rate_limit": {"limit": 100, "remaining": 4}},
...     as_of=now, silence_factor=3)]
['rate_limit_headroom_low']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Literal

from app.checks.warnings import check_warnings
from app.warnings.models import SEVERITY_ORDER, Severity, Warning
from graph.results import LinkRef
from graph.text import Param, Text, counted, phrase


@dataclass(frozen=True)
class CallStats:
    """Calls in one window: counts, failures by kind, latency, the latest outcome."""

    calls: int = 0
    failed: int = 0
    auth_failed: int = 0
    rate_limited: int = 0
    p95_ms: float | None = None
    last_status: int | None = None
    last_time: datetime | None = None
    first_failure: datetime | None = None

    @property
    def error_rate(self) -> float | None:
        return self.failed / self.calls if self.calls else None


def call_stats(calls: Sequence[tuple[datetime, int | None, float]]) -> CallStats:
    """Figures of ``(time, status, duration_ms)`` calls (any order); latency of answered ones.

    >>> from datetime import UTC, datetime
    >>> t = datetime(2026, 11, 25, tzinfo=UTC)
    >>> s = call_stats([(t, 200, 100.0), (t, 503, 900.0), (t, 429, 50.0), (t, 401, 20.0)])
    >>> (s.calls, s.failed, s.rate_limited, s.auth_failed, s.p95_ms)
    (4, 3, 1, 1, 100.0)
    """
    if not calls:
        return CallStats()
    ordered = sorted(calls, key=lambda c: c[0])
    failed = [c for c in ordered if c[1] is None or not 200 <= c[1] < 300]
    # Latency of the calls that were answered: timeouts already count as failures.
    durations = sorted(c[2] for c in ordered if c[1] is not None and 200 <= c[1] < 300)
    return CallStats(
        calls=len(ordered),
        failed=len(failed),
        auth_failed=sum(1 for c in ordered if c[1] in (401, 403)),
        rate_limited=sum(1 for c in ordered if c[1] == 429),
        p95_ms=_percentile(durations, 0.95),
        last_status=ordered[-1][1],
        last_time=ordered[-1][0],
        first_failure=failed[0][0] if failed else None,
    )


@dataclass(frozen=True)
class LinkFigures:
    link: LinkRef
    sla_seconds: float
    status: str
    recent: CallStats
    previous: CallStats
    waiting_now: int
    waiting_before: int


@dataclass(frozen=True)
class Activity:
    """When a system last sent anything, and its usual gap between events."""

    system: str
    last_event: datetime
    usual_gap_seconds: float | None


@dataclass(frozen=True)
class WarningInputs:
    as_of: datetime
    window_seconds: float
    links: Sequence[LinkFigures] = ()
    probes: Mapping[str, CallStats] = field(default_factory=dict)
    activity: Sequence[Activity] = ()
    connectors: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def compute_warnings(
    inputs: WarningInputs, *, silence_factor: float = 3.0, silence_min_seconds: float = 900.0
) -> list[Warning]:
    """Every warning the inputs support, most severe first."""
    found: list[Warning] = []
    for figures in inputs.links:
        found += link_warnings(figures)
    for system, stats in sorted(inputs.probes.items()):
        found += probe_warnings(system, stats)
    intervals = {
        system: float(status["poll_interval_seconds"])
        for system, status in inputs.connectors.items()
        if isinstance(status.get("poll_interval_seconds"), int | float)
    }
    for activity in inputs.activity:
        found += silence_warnings(
            activity,
            as_of=inputs.as_of,
            factor=silence_factor,
            minimum=silence_min_seconds,
            poll_interval=intervals.get(activity.system),
        )
    for system, status in sorted(inputs.connectors.items()):
        found += connector_warnings(
            system, status, as_of=inputs.as_of, silence_factor=silence_factor
        )
    return sorted(found, key=lambda w: (SEVERITY_ORDER[w.severity], w.kind, w.system or ""))


def link_warnings(figures: LinkFigures) -> list[Warning]:
    found: list[Warning] = []
    link, recent, previous = figures.link, figures.recent, figures.previous
    name = f"{link.flow} {link.from_} → {link.to}"
    rate, before = recent.error_rate, previous.error_rate
    if (
        figures.status != "failed"
        and rate is not None
        and recent.calls >= 5
        and rate >= 0.1
        and (before is None or rate >= 2 * before)
    ):
        failing = phrase(
            "%(rate)s of calls on %(link)s failed lately", rate=f"{rate:.0%}", link=name
        )
        if before is not None:
            failing = phrase("%(text)s, up from %(before)s", text=failing, before=f"{before:.0%}")
        found.append(
            Warning.said(
                failing,
                kind="error_rate_rising",
                severity="critical" if rate >= 0.5 else "warning",
                link=link,
                since=recent.first_failure,
                evidence={
                    "calls": recent.calls,
                    "failed": recent.failed,
                    "error_rate": round(rate, 4),
                    "previous_error_rate": round(before, 4) if before is not None else None,
                },
            )
        )
    if figures.waiting_now >= 5 and figures.waiting_now >= 2 * max(figures.waiting_before, 1):
        found.append(
            Warning.said(
                counted(
                    "%(count)d entities wait on %(link)s, up from %(before)d a while ago",
                    "%(count)d entities wait on %(link)s, up from %(before)d a while ago",
                    figures.waiting_now,
                    link=name,
                    before=figures.waiting_before,
                ),
                kind="backlog_growing",
                severity="warning",
                link=link,
                evidence={"waiting": figures.waiting_now, "waiting_before": figures.waiting_before},
            )
        )
    now_ms, before_ms = recent.p95_ms, previous.p95_ms
    if now_ms is not None and before_ms and now_ms >= 1000 and now_ms >= 2 * before_ms:
        near_sla = now_ms / 1000 >= 0.5 * figures.sla_seconds
        found.append(
            Warning.said(
                phrase(
                    "calls on %(link)s take %(now)s s (95th percentile), up from %(before)s s; "
                    "the hop's SLA is %(sla)s s",
                    link=name,
                    now=f"{now_ms / 1000:.1f}",
                    before=f"{before_ms / 1000:.1f}",
                    sla=f"{figures.sla_seconds:g}",
                ),
                kind="latency_rising",
                severity="critical" if near_sla else "warning",
                link=link,
                evidence={
                    "p95_ms": now_ms,
                    "previous_p95_ms": before_ms,
                    "sla_seconds": figures.sla_seconds,
                },
            )
        )
    return found


def probe_warnings(system: str, stats: CallStats) -> list[Warning]:
    found: list[Warning] = []
    if stats.auth_failed:
        refused_now = stats.last_status in (401, 403)
        refused = phrase(
            "%(system)s refused Arbiter's credentials (%(refused)d of %(probes)d probes "
            "answered 401/403)",
            system=system,
            refused=stats.auth_failed,
            probes=stats.calls,
        )
        if not refused_now:
            refused = phrase("%(text)s; the latest probe passed", text=refused)
        found.append(
            Warning.said(
                refused,
                kind="credentials_failing",
                severity="critical" if refused_now else "warning",
                system=system,
                since=stats.first_failure,
                evidence={"probes": stats.calls, "refused": stats.auth_failed},
            )
        )
    if stats.calls and stats.rate_limited / stats.calls >= 0.1:
        found.append(
            Warning.said(
                phrase(
                    "%(system)s answered 429 to %(limited)d of %(calls)d of Arbiter's calls: "
                    "close to its rate limit",
                    system=system,
                    limited=stats.rate_limited,
                    calls=stats.calls,
                ),
                kind="rate_limit_pressure",
                severity="warning",
                system=system,
                evidence={"probes": stats.calls, "rate_limited": stats.rate_limited},
            )
        )
    return found


def silence_warnings(
    activity: Activity,
    *,
    as_of: datetime,
    factor: float,
    minimum: float,
    poll_interval: float | None,
) -> list[Warning]:
    usual = poll_interval or activity.usual_gap_seconds
    allowed = max(factor * usual, minimum) if usual else minimum
    quiet = (as_of - activity.last_event).total_seconds()
    if quiet <= allowed:
        return []
    silent = phrase(
        "nothing from %(system)s for %(quiet)s", system=activity.system, quiet=_spoken(quiet)
    )
    if usual:
        silent = phrase(
            "%(text)s (it usually reports every %(usual)s)", text=silent, usual=_spoken(usual)
        )
    return [
        Warning.said(
            silent,
            kind="silent",
            severity="critical" if quiet > 4 * allowed else "warning",
            system=activity.system,
            since=activity.last_event,
            evidence={"quiet_seconds": round(quiet), "usual_gap_seconds": usual},
        )
    ]


def connector_warnings(
    system: str, status: Mapping[str, Any], *, as_of: datetime, silence_factor: float
) -> list[Warning]:
    """Warnings from what a connector reported about itself (keys in :mod:`.service`)."""
    found: list[Warning] = []

    def warn(text: Text, kind: str, severity: Severity, **fields: Any) -> None:
        found.append(Warning.said(text, kind=kind, severity=severity, system=system, **fields))

    def connector_said(key: Literal["last_error", "warning"], words: str) -> None:
        """The connector's own words: its last error, or a remark on an answer it cannot read."""
        said = (
            phrase(
                "Arbiter's connector to %(system)s reports: %(error)s",
                system=system,
                error=words[:300],
            )
            if key == "last_error"
            else phrase(
                "Arbiter's connector to %(system)s warns: %(remark)s",
                system=system,
                remark=words[:300],
            )
        )
        warn(said, "connector_error", "warning", evidence={key: words[:1000]})

    limits = status.get("rate_limit")
    if isinstance(limits, Mapping) and limits.get("limit"):
        remaining, limit = float(limits.get("remaining", 0)), float(limits["limit"])
        if remaining / limit <= 0.2:
            warn(
                phrase(
                    "%(system)s: %(remaining)s of %(limit)s API calls left in the current "
                    "rate-limit window",
                    system=system,
                    remaining=f"{remaining:g}",
                    limit=f"{limit:g}",
                ),
                "rate_limit_headroom_low",
                "critical" if remaining / limit <= 0.05 else "warning",
                evidence=dict(limits),
            )
    if status.get("webhook_disabled"):
        # From the shop's own webhook list (WooCommerce): name each topic that stopped.
        hooks = [h for h in status.get("webhooks_disabled") or [] if isinstance(h, Mapping)]
        topics = ", ".join(str(h.get("topic")) for h in hooks)
        warn(
            phrase(
                "%(system)s disabled its webhook for %(topics)s after failed deliveries: "
                "no more pushes of it arrive",
                system=system,
                topics=topics,
            )
            if topics
            else phrase(
                "%(system)s disabled its webhook to Arbiter: no more pushes arrive",
                system=system,
            ),
            "webhook_disabled",
            "critical",
            evidence={"webhooks": hooks},
        )
    last_poll = _moment(status.get("last_poll_at"))
    interval = status.get("poll_interval_seconds")
    if last_poll is not None and isinstance(interval, int | float) and interval > 0:
        late = (as_of - last_poll).total_seconds()
        if late > silence_factor * interval:
            warn(
                phrase(
                    "Arbiter's poller of %(system)s last ran %(late)s ago (every "
                    "%(interval)s expected)",
                    system=system,
                    late=_spoken(late),
                    interval=_spoken(float(interval)),
                ),
                "connector_stopped",
                "critical",
                since=last_poll,
                evidence={"last_poll_at": last_poll.isoformat(), "interval": interval},
            )
    error = status.get("last_error")
    if isinstance(error, str) and error and status.get("error_kind") == "AuthError":
        # Arbiter's own access refused: nothing the system does can be seen, say it loudly.
        warn(
            phrase(
                "%(system)s refuses Arbiter's access, so nothing it does is seen: %(error)s",
                system=system,
                error=error[:300],
            ),
            "credentials_failing",
            "critical",
            evidence={"last_error": error[:1000], "error_kind": "AuthError"},
        )
    elif isinstance(error, str) and error:
        connector_said("last_error", error)
    found += check_warnings(system, status.get("storefront_checks"))
    for remark in status.get("warnings") or []:
        if isinstance(remark, str) and remark:
            connector_said("warning", remark)
    return found


def usual_gap(times: Iterable[datetime]) -> float | None:
    """The median gap between consecutive events, None with fewer than three.

    >>> from datetime import UTC, datetime, timedelta
    >>> t = datetime(2026, 11, 25, tzinfo=UTC)
    >>> usual_gap([t, t + timedelta(seconds=60), t + timedelta(seconds=180)])
    90.0
    """
    ordered = sorted(times)
    gaps = sorted((b - a).total_seconds() for a, b in pairwise(ordered))
    gaps = [g for g in gaps if g > 0]
    if len(gaps) < 2:
        return None
    middle = len(gaps) // 2
    return gaps[middle] if len(gaps) % 2 else (gaps[middle - 1] + gaps[middle]) / 2


def _percentile(ordered: Sequence[float], share: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(math.ceil(share * len(ordered)) - 1, 0))]


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return None


def _spoken(seconds: float) -> Param:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.0f} h"
    days = round(seconds / 86400)
    return counted("%(count)d days", "%(count)d days", days)


__all__ = [
    "Activity",
    "CallStats",
    "LinkFigures",
    "Severity",
    "WarningInputs",
    "call_stats",
    "compute_warnings",
]
