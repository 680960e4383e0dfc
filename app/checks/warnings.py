"""Warnings from the storefront checks' latest results (fed through the connector status).

Each check reports under the ``storefront_checks`` key of its target's connector status
(:mod:`app.warnings.service`), one entry per check id::

    {"page": "checkout", "kind": "http", "days_left": None, "slow": True,
     "duration_ms": 4200.0, "usual_ms": 800.0, "slow_factor": 3.0, "host": None,
     "failures": 0, "error": None}

``page_failing`` (critical): two runs in a row failed (a page's status or text, the mail
server's greeting, the name's resolution, the handshake); ``certificate_expiring``: 14 days
or fewer left (critical from 3); ``page_slow``: the run took ``slow_factor`` times the usual.

>>> [w.kind for w in check_warnings("shop", {"tls": {"kind": "tls", "days_left": 9.5,
...     "host": "shop.example"}})]
['certificate_expiring']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.warnings.models import Warning
from graph.text import counted, phrase

CERTIFICATE_WARN_DAYS = 14.0
CERTIFICATE_CRITICAL_DAYS = 3.0
FAILURES_TO_WARN = 2
"""One failed run can be a blip on the way; two in a row is what customers meet."""


def check_warnings(system: str, checks: Any) -> list[Warning]:
    found: list[Warning] = []
    if not isinstance(checks, Mapping):
        return found
    for check_id, report in sorted(checks.items()):
        if not isinstance(report, Mapping):
            continue
        failures = report.get("failures")
        if isinstance(failures, int) and failures >= FAILURES_TO_WARN:
            found.append(
                Warning.said(
                    phrase(
                        "check %(check)s of %(system)s failed %(failures)d times in a row: "
                        "%(error)s",
                        check=check_id,
                        system=system,
                        failures=failures,
                        error=str(report.get("error"))[:300],
                    ),
                    kind="page_failing",
                    severity="critical",
                    system=system,
                    evidence={
                        "check": check_id,
                        "failures": failures,
                        "error": report.get("error"),
                    },
                )
            )
        days = report.get("days_left")
        if isinstance(days, int | float) and days <= CERTIFICATE_WARN_DAYS:
            host = report.get("host") or system
            found.append(
                Warning.said(
                    counted(
                        "the TLS certificate of %(host)s expires in %(count)d days: customers' "
                        "browsers will refuse the shop",
                        "the TLS certificate of %(host)s expires in %(count)d days: customers' "
                        "browsers will refuse the shop",
                        round(days),
                        host=host,
                    )
                    if days > 0
                    else phrase(
                        "the TLS certificate of %(host)s has expired: customers' browsers will "
                        "refuse the shop",
                        host=host,
                    ),
                    kind="certificate_expiring",
                    severity="critical" if days <= CERTIFICATE_CRITICAL_DAYS else "warning",
                    system=system,
                    evidence={"check": check_id, "days_left": days, "host": host},
                )
            )
        if report.get("slow"):
            duration, usual = report.get("duration_ms"), report.get("usual_ms")
            page = report.get("page") or "page"
            found.append(
                Warning.said(
                    phrase(
                        "the %(page)s page took %(took)s, its usual time is %(usual)s",
                        page=page,
                        took=_seconds(duration),
                        usual=_seconds(usual),
                    ),
                    kind="page_slow",
                    severity="warning",
                    system=system,
                    evidence={
                        "check": check_id,
                        "duration_ms": duration,
                        "usual_ms": usual,
                        "slow_factor": report.get("slow_factor"),
                    },
                )
            )
    return found


def _seconds(ms: Any) -> str:
    return f"{float(ms) / 1000:.1f} s" if isinstance(ms, int | float) else "?"
