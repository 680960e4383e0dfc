"""Link health for the dashboard: one status per link of the topology.

- ``no_data``: no journey crossed the link and no call was made on it in the window;
- ``failed``: a suspect names the link (or its system is down) and entities are still stuck
  on it, or its failures outnumber its successes;
- ``degraded``: some failures, or more than one call in ten failed (retries that still made
  it in time are health for the entities, but worth a glance);
- ``blocked``: nothing failed here, but more entities wait behind an upstream failure than
  passed;
- ``healthy`` otherwise.

>>> from graph.tally import LinkTally
>>> status_of(LinkTally(ok=40, ongoing=0), calls=40, failed_calls=0, suspected=False)
'healthy'
>>> status_of(LinkTally(ok=2, failed=37, ongoing=37), calls=80, failed_calls=80, suspected=True)
'failed'
"""

from __future__ import annotations

import math

from graph.calls import CallLogs
from graph.plan import Plan
from graph.results import EntityCounts, LinkHealth, LinkRef, LinkStatus, Suspect, maybe_utc
from graph.tally import LinkTally, Tally

DEGRADED_ERROR_RATE = 0.1


def status_of(counts: LinkTally, *, calls: int, failed_calls: int, suspected: bool) -> LinkStatus:
    """The dashboard status of a link from its counts in the window."""
    if not (counts.ok or counts.pending or counts.failed or counts.blocked or calls):
        return "no_data"
    if suspected and (counts.ongoing or counts.failed >= counts.ok):
        return "failed"
    if counts.failed or suspected or (calls and failed_calls / calls > DEGRADED_ERROR_RATE):
        return "degraded"
    if counts.blocked and counts.blocked > counts.ok:
        return "blocked"
    return "healthy"


def link_health(
    tally: Tally,
    plan: Plan,
    logs: CallLogs,
    suspects: list[Suspect],
    *,
    as_of: float,
    window: float,
) -> list[LinkHealth]:
    """The health of every link of ``plan``, in topology order."""
    by_link: dict[tuple[str, str, str], Suspect] = {}
    for ranked in suspects:  # the first suspect of a link is its headline
        for ref in [ranked.link] if ranked.link is not None else ranked.links:
            by_link.setdefault((ref.flow, ref.from_, ref.to), ranked)
    found: list[LinkHealth] = []
    for index, spec in enumerate(plan.links):
        counts = tally.links.get(index, LinkTally())
        calls, failed_calls = logs.outcomes(
            spec.flow, spec.caller, spec.callee, as_of - window, as_of
        )
        suspect = by_link.get((spec.flow, spec.from_, spec.to))
        status = status_of(
            counts, calls=calls, failed_calls=failed_calls, suspected=suspect is not None
        )
        found.append(
            LinkHealth(
                link=LinkRef(flow=spec.flow, from_=spec.from_, to=spec.to),
                status=status,
                initiator=spec.initiator,
                owner=spec.owner,
                sla_seconds=spec.sla_seconds,
                last_success=maybe_utc(
                    None if counts.last_success == -math.inf else counts.last_success
                ),
                entities=EntityCounts(
                    ok=counts.ok,
                    pending=counts.pending,
                    failed=counts.failed,
                    blocked=counts.blocked,
                ),
                calls=calls,
                failed_calls=failed_calls,
                call_error_rate=round(failed_calls / calls, 4) if calls else None,
                mode=suspect.mode if suspect is not None else None,
                responsible=suspect.responsible if suspect is not None else None,
                summary=suspect.summary if suspect is not None else None,
            )
        )
    return found
