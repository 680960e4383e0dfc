"""The incident state machine: pure code from (incidents, what the diagnosis sees now) to changes.

One root cause is one incident. Its key is the link (or, for ``down``, the system) and the
*family* of the failure mode: the mode of one cause shifts as evidence arrives (``missing``
becomes ``unavailable`` once the ERP's 503s are reported; stuck orders that finally get through
turn ``late``), and such a shift updates the incident instead of opening another. ``rejected``
(the owner's mapping), ``mismatch`` (data transformed wrongly) and ``down`` are causes of their
own. Links blocked behind a failure are never blamed by the diagnosis, so they raise nothing.

Phases follow status pages::

    investigating ──► identified ──► monitoring ──► resolved
          ▲               ▲  │            │            │
          └───────────────┴──┴── failures resume ──────┘ (reopen, within the flap window)

- *open*: a suspect affects at least ``min_affected`` entities and its first failure lies at
  least ``min_duration`` back. Opened ``identified`` when calls show the cause (every mode but
  ``missing``), ``investigating`` while nothing shows why entities do not move (``missing``:
  no attempt recorded); it turns ``identified`` when the evidence does.
- *update*: affected count, last failure, mode and responsible party follow the evidence; the
  incident *escalates* when the affected count reaches each escalation factor times the count
  it opened with (twice and ten times by default), once per level.
- *monitoring*: no new failure evidence and either the suspect is gone or entities pass the
  link again after its last failure. *resolved* once that has held for ``resolve_after``.
- *flapping*: a resolved cause that fails again within ``flap_window`` reopens the same
  incident; an "open" alert goes out at most once per window, and a "resolve" alert only
  answers an "open" alert that went out (no page per flap).

Nothing here reads a clock: every decision is taken *as of* the moment given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from graph.hops import spoken_duration
from graph.results import LinkRef, Suspect
from graph.text import Text, counted, phrase

Phase = Literal["investigating", "identified", "monitoring", "resolved"]
Status = Literal["open", "resolved"]
AlertEvent = Literal["open", "escalate", "resolve"]
ALERT_EVENTS: tuple[AlertEvent, ...] = ("open", "escalate", "resolve")

FAMILIES: dict[str, str] = {
    "missing": "delivery",
    "unavailable": "delivery",
    "rate_limited": "delivery",
    "lost": "delivery",
    "late": "delivery",
    "rejected": "rejected",
    "mismatch": "mismatch",
    "down": "down",
}
UNEXPLAINED_MODES = frozenset({"missing"})
LinkKey = tuple[str, str, str]


def family_of(mode: str) -> str:
    return FAMILIES.get(mode, mode)


def link_key(link: LinkRef) -> LinkKey:
    return (link.flow, link.from_, link.to)


def incident_key(link: LinkRef | None, system: str | None, family: str) -> str:
    """The identity of a root cause.

    >>> incident_key(LinkRef(flow="order", from_="oms", to="erp"), None, "delivery")
    'link:order:oms:erp/delivery'
    >>> incident_key(None, "erp", "down")
    'system:erp/down'
    """
    if link is not None:
        return f"link:{link.flow}:{link.from_}:{link.to}/{family}"
    return f"system:{system}/{family}"


@dataclass(frozen=True)
class Policy:
    min_affected: int = 2
    min_duration_seconds: float = 300.0
    resolve_after_seconds: float = 900.0
    escalation_factors: tuple[float, ...] = (2.0, 10.0)
    flap_window_seconds: float = 3600.0


@dataclass
class Cause:
    """A root cause: its key (:func:`incident_key`) and family, its link (or, for ``down``, its
    system), its failure mode and the party responsible. Observations and incidents both name
    one, field for field."""

    key: str
    family: str
    link: LinkRef | None
    system: str | None
    mode: str
    responsible: str

    @property
    def where(self) -> str:
        """The link or system in words: "order oms → erp", "system erp"."""
        if self.link is not None:
            return f"{self.link.flow} {self.link.from_} → {self.link.to}"
        return f"system {self.system}"


@dataclass
class Observation(Cause):
    """One root cause as the current diagnosis sees it (suspects of one key merged)."""

    confidence: float
    affected: int
    healthy: int
    first_seen: datetime
    last_seen: datetime
    summary: str
    evidence: dict[str, Any]
    links: tuple[LinkRef, ...]
    summary_text: Text | None = None


LATEST = (
    "mode",
    "responsible",
    "confidence",
    "affected",
    "healthy",
    "summary",
    "summary_text",
    "evidence",
)
"""What an incident takes as it is from the latest observation of its cause (the one mapping
of an observation onto a record: :func:`_open` and :func:`_absorb`)."""
_FROM_SUSPECT = (
    *(name for name in LATEST if name != "evidence"),
    "link",
    "system",
    "first_seen",
    "last_seen",
)
"""What an observation takes as it is from its headline suspect (its evidence as JSON)."""


def _latest(seen: Observation) -> dict[str, Any]:
    return {name: getattr(seen, name) for name in LATEST}


def observe(suspects: Iterable[Suspect]) -> dict[str, Observation]:
    """Group ranked suspects by root cause; the best-ranked one of a key is its headline."""
    found: dict[str, Observation] = {}
    for suspect in suspects:
        family = family_of(suspect.mode)
        key = incident_key(suspect.link, suspect.system, family)
        links = (suspect.link,) if suspect.link is not None else tuple(suspect.links)
        seen = found.get(key)
        if seen is None:
            found[key] = Observation(
                **{name: getattr(suspect, name) for name in _FROM_SUSPECT},
                key=key,
                family=family,
                evidence=suspect.evidence.model_dump(mode="json", by_alias=True),
                links=links,
            )
            continue
        found[key] = replace(
            seen,
            affected=seen.affected + suspect.affected,
            first_seen=min(seen.first_seen, suspect.first_seen),
            last_seen=max(seen.last_seen, suspect.last_seen),
            links=seen.links + tuple(link for link in links if link not in seen.links),
        )
    return found


@dataclass
class IncidentRecord(Cause):
    """An incident's state as stored; ``id`` is None until it is first saved."""

    status: Status
    phase: Phase
    confidence: float
    affected: int
    opened_affected: int
    peak_affected: int
    healthy: int
    summary: str
    evidence: dict[str, Any]
    links: list[LinkRef]
    first_failure: datetime
    last_seen: datetime
    opened_at: datetime
    updated_at: datetime
    escalation: int = 0
    flaps: int = 0
    healthy_since: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    last_open_alert_at: datetime | None = None
    last_resolve_alert_at: datetime | None = None
    summary_text: Text | None = None
    """The summary as graph wrote it, to say in another language (None: only the English)."""
    id: int | None = None


@dataclass(frozen=True)
class TimelineEntry:
    time: datetime
    kind: str
    phase: Phase
    message: str
    """In English, as the API shows it."""
    text: Text | None = None
    """The same sentence as a message and its parameters, for the dashboard's other languages."""

    @classmethod
    def said(cls, time: datetime, kind: str, phase: Phase, text: Text) -> TimelineEntry:
        return cls(time, kind, phase, str(text), text)


def _mode(mode: str) -> Text:
    """A failure mode, which another language says in its own word (the catalogs' term)."""
    return phrase(mode)


def _summary(seen: Observation | IncidentRecord) -> Text | str:
    return seen.summary_text or seen.summary


@dataclass(frozen=True)
class Alert:
    """A notification to send: the event, and the incident as it stands after the change."""

    event: AlertEvent
    incident: IncidentRecord
    reopened: bool = False


@dataclass
class Change:
    record: IncidentRecord
    kind: Literal["opened", "reopened", "updated", "resolved"]
    timeline: list[TimelineEntry] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def step(
    incidents: Mapping[str, IncidentRecord],
    observations: Mapping[str, Observation],
    last_success: Mapping[LinkKey, datetime | None],
    *,
    as_of: datetime,
    policy: Policy,
) -> list[Change]:
    """What changes, as of ``as_of``, given the latest incident of each key and the diagnosis.

    ``incidents`` maps each key to its most recent incident (open or resolved);
    ``last_success`` the latest entity that crossed each link.
    """
    changes: list[Change] = []
    for key, seen in observations.items():
        record = incidents.get(key)
        if record is not None and record.status == "open":
            change = _update(record, seen, last_success, as_of, policy)
        elif record is not None and seen.last_seen <= record.last_seen:
            change = None  # the evidence that incident was about, nothing new since
        elif not _holds(seen, as_of, policy):
            change = None
        elif record is not None and as_of - _resolved(record) <= _seconds(
            policy.flap_window_seconds
        ):
            change = _reopen(record, seen, as_of, policy)
        else:
            change = _open(seen, as_of)
        if change is not None:
            changes.append(change)
    for key, record in incidents.items():
        if record.status == "open" and key not in observations:
            change = _recovering(Change(replace(record), "updated"), as_of, policy)
            if change.timeline:
                changes.append(change)
    return changes


def _holds(seen: Observation, as_of: datetime, policy: Policy) -> bool:
    return (
        seen.affected >= policy.min_affected
        and (as_of - seen.first_seen).total_seconds() >= policy.min_duration_seconds
    )


def _phase_for(mode: str) -> Phase:
    return "investigating" if mode in UNEXPLAINED_MODES else "identified"


def _resolved(record: IncidentRecord) -> datetime:
    assert record.resolved_at is not None
    return record.resolved_at


def _seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


def _open(seen: Observation, as_of: datetime) -> Change:
    phase = _phase_for(seen.mode)
    record = IncidentRecord(
        **_latest(seen),
        key=seen.key,
        family=seen.family,
        link=seen.link,
        system=seen.system,
        status="open",
        phase=phase,
        opened_affected=seen.affected,
        peak_affected=seen.affected,
        links=list(seen.links),
        first_failure=seen.first_seen,
        last_seen=seen.last_seen,
        opened_at=as_of,
        updated_at=as_of,
        last_open_alert_at=as_of,
    )
    text = phrase(
        "Opened: %(summary)s. Responsible: %(responsible)s.",
        summary=_summary(seen),
        responsible=seen.responsible,
    )
    return Change(
        record,
        "opened",
        [TimelineEntry.said(as_of, "opened", phase, text)],
        [Alert("open", record)],
    )


def _reopen(record: IncidentRecord, seen: Observation, as_of: datetime, policy: Policy) -> Change:
    quiet = as_of - _resolved(record)
    new = _absorb(record, seen)
    new.status = "open"
    new.phase = _phase_for(seen.mode)
    new.flaps += 1
    new.resolved_at = None
    new.healthy_since = None
    new.updated_at = as_of
    alerts: list[Alert] = []
    last_page = record.last_open_alert_at
    if last_page is None or as_of - last_page >= _seconds(policy.flap_window_seconds):
        new.last_open_alert_at = as_of
        alerts.append(Alert("open", new, reopened=True))
    text = phrase(
        "Reopened: failing again %(quiet)s after it was resolved (flapping: %(flaps)s). "
        "%(summary)s.",
        quiet=spoken_duration(quiet.total_seconds()),
        flaps=counted("%(count)d time", "%(count)d times", new.flaps),
        summary=_summary(seen),
    )
    entry = TimelineEntry.said(as_of, "reopened", new.phase, text)
    return Change(new, "reopened", [entry], alerts)


def _absorb(record: IncidentRecord, seen: Observation) -> IncidentRecord:
    """A copy of ``record`` that took in ``seen``."""
    return replace(
        record,
        **_latest(seen),
        peak_affected=max(record.peak_affected, seen.affected),
        links=list(dict.fromkeys([*record.links, *seen.links])),
        first_failure=min(record.first_failure, seen.first_seen),
        last_seen=max(record.last_seen, seen.last_seen),
    )


def _update(
    record: IncidentRecord,
    seen: Observation,
    last_success: Mapping[LinkKey, datetime | None],
    as_of: datetime,
    policy: Policy,
) -> Change:
    fresh = seen.last_seen > record.last_seen or seen.affected > record.affected
    before = record
    new = _absorb(record, seen)
    change = Change(new, "updated")
    if (before.mode, before.responsible) != (new.mode, new.responsible):
        text = phrase(
            "Failure mode now %(mode)s (was %(was)s); responsible: %(responsible)s.",
            mode=_mode(new.mode),
            was=_mode(before.mode),
            responsible=new.responsible,
        )
        change.timeline.append(TimelineEntry.said(as_of, "mode_changed", new.phase, text))
    if new.phase == "investigating" and _phase_for(new.mode) == "identified":
        new.phase = "identified"
        text = phrase(
            "Cause identified: %(mode)s on %(where)s, responsible: %(responsible)s.",
            mode=_mode(new.mode),
            where=new.where,
            responsible=new.responsible,
        )
        change.timeline.append(TimelineEntry.said(as_of, "identified", "identified", text))
    level = sum(
        1 for f in policy.escalation_factors if new.affected >= math.ceil(f * new.opened_affected)
    )
    if level > new.escalation:
        new.escalation = level
        text = phrase(
            "Escalated: %(affected)s affected, up from %(opened)s when opened.",
            affected=new.affected,
            opened=new.opened_affected,
        )
        change.timeline.append(TimelineEntry.said(as_of, "escalated", new.phase, text))
        change.alerts.append(Alert("escalate", new))
    if fresh and new.phase == "monitoring":
        new.phase = _phase_for(new.mode)
        new.healthy_since = None
        text = phrase("Failing again: %(summary)s.", summary=_summary(seen))
        change.timeline.append(TimelineEntry.said(as_of, "failing_again", new.phase, text))
    elif not fresh:
        flowing = any(
            (success := last_success.get(link_key(link))) is not None and success > new.last_seen
            for link in new.links
        )
        if flowing:
            _recovering(change, as_of, policy)
        elif new.phase == "monitoring":
            new.phase = _phase_for(new.mode)
            new.healthy_since = None
            text = phrase("Entities are stuck again.")
            change.timeline.append(TimelineEntry.said(as_of, "failing_again", new.phase, text))
    if change.timeline or _evidence_moved(before, new):
        new.updated_at = as_of
    return change


def _evidence_moved(before: IncidentRecord, after: IncidentRecord) -> bool:
    return (before.affected, before.healthy, before.last_seen, before.summary) != (
        after.affected,
        after.healthy,
        after.last_seen,
        after.summary,
    )


def _recovering(change: Change, as_of: datetime, policy: Policy) -> Change:
    """The link works again: monitor it, and resolve once it held for ``resolve_after``."""
    record = change.record
    if record.healthy_since is None:
        record.healthy_since = as_of
        record.phase = "monitoring"
        record.updated_at = as_of
        text = phrase(
            "No new failures on %(where)s; monitoring before resolving.", where=record.where
        )
        change.timeline.append(TimelineEntry.said(as_of, "monitoring", "monitoring", text))
    if as_of - record.healthy_since >= _seconds(policy.resolve_after_seconds):
        record.status = "resolved"
        record.phase = "resolved"
        record.resolved_at = as_of
        record.updated_at = as_of
        change.kind = "resolved"
        text = phrase(
            "Resolved: %(where)s healthy since %(since)s UTC.",
            where=record.where,
            since=f"{record.healthy_since:%Y-%m-%d %H:%M}",
        )
        change.timeline.append(TimelineEntry.said(as_of, "resolved", "resolved", text))
        opened_page = record.last_open_alert_at
        answered = record.last_resolve_alert_at
        if opened_page is not None and (answered is None or answered < opened_page):
            record.last_resolve_alert_at = as_of
            change.alerts.append(Alert("resolve", record))
    return change
