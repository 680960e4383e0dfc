"""One suspect in detail: its verdict as a sentence, the evidence, the chart and the report."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.dashboard.service import MODE_WORDS, Scope, load_scope, suspect_path
from app.i18n import DEFAULT_LANGUAGE, current_language, gettext
from app.i18n.texts import localized
from app.i18n.vocabulary import term
from app.runtime import Runtime
from graph.results import Suspect

log = logging.getLogger("arbiter.dashboard")

CHART_BUCKETS = 8
_WINDOW = 86400.0
"""The window an incident's suspect is diagnosed in (the dashboard's default)."""
_CACHE_SIZE = 64
_cache: dict[tuple[str, int, str, int, float], list[Bucket]] = {}
_cache_lock = threading.Lock()
_NICE_STEPS = [m * 10**e for e in range(7) for m in (1, 2, 5)]


def find_suspect(runtime: Runtime, scope: Scope, path: str) -> Suspect | None:
    if scope.topology is None:
        return None
    index, lock = runtime.indexes.index(scope.workspace.id, since=scope.window_start)
    with lock:
        diagnosis = index.diagnose(
            scope.topology, as_of=scope.as_of, window_seconds=scope.window_seconds
        )
    return next((s for s in diagnosis.suspects if suspect_path(s) == path), None)


def said_again(
    runtime: Runtime, workspace_id: str, summary: str, path: str, moments: list[datetime]
) -> str:
    """A stored English summary (an incident's) in the reader's language: the suspect at
    ``path`` is diagnosed again as of each moment until one says the very same sentence, whose
    translation is then exact; otherwise the English stays."""
    if current_language() == DEFAULT_LANGUAGE:
        return summary
    for moment in moments:
        scope = load_scope(runtime, workspace_id, moment, _WINDOW, live=False)
        found = find_suspect(runtime, scope, path) if scope is not None else None
        if found is not None and found.summary == summary:
            return localized(found)
    return summary


def title(suspect: Suspect) -> str:
    """The suspect in a few words, in the reader's language."""
    if suspect.link is None:
        return gettext("%(system)s is down") % {"system": suspect.system}
    link = suspect.link
    return gettext("%(flow)s link %(from)s → %(to)s: %(mode)s") % {
        "flow": term(link.flow),
        "from": link.from_,
        "to": link.to,
        "mode": gettext(MODE_WORDS.get(suspect.mode, suspect.mode)),
    }


def sentence(suspect: Suspect) -> str:
    """The verdict in one plain sentence, with the party that answers for it."""
    return verdict_sentence(localized(suspect), suspect.responsible)


def verdict_sentence(summary: str, responsible: str) -> str:
    """A diagnosis summary as a sentence naming the responsible party (suspects, incidents)."""
    text = summary.strip().rstrip(".")
    text = text[:1].upper() + text[1:]
    return gettext("%(summary)s. Responsible: %(who)s.") % {"summary": text, "who": responsible}


@dataclass(frozen=True)
class Bucket:
    end: datetime
    affected: int
    healthy: int


def series(runtime: Runtime, scope: Scope, suspect: Suspect) -> list[Bucket]:
    """Affected and healthy entities of the suspect's links, bucket by bucket over the window.

    Each bucket is the link health of that stretch of time judged as of its end, computed
    oldest first so the index's verdict cache ends where the live pages look (``as_of``).
    """
    if scope.topology is None:
        return []
    index, lock = runtime.indexes.index(scope.workspace.id, since=scope.window_start)
    # Judging the journeys at eight past moments costs about a second at 100k events; the same
    # chart asked again within a minute (another viewer, a reload) is answered from memory.
    key = (
        scope.workspace.id,
        index.version,
        suspect_path(suspect),
        int(scope.as_of.timestamp() // 60),
        scope.window_seconds,
    )
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    refs = [suspect.link] if suspect.link is not None else suspect.links
    keys = {(r.flow, r.from_, r.to) for r in refs}
    step = scope.window_seconds / CHART_BUCKETS
    start = scope.as_of - timedelta(seconds=scope.window_seconds)
    buckets: list[Bucket] = []
    with lock:
        for i in range(1, CHART_BUCKETS + 1):
            end = start + timedelta(seconds=step * i)
            health = index.link_health(scope.topology, as_of=end, window_seconds=step)
            mine = [h for h in health if (h.link.flow, h.link.from_, h.link.to) in keys]
            buckets.append(
                Bucket(
                    end,
                    affected=sum(h.entities.failed for h in mine),
                    healthy=sum(h.entities.ok for h in mine),
                )
            )
    with _cache_lock:
        if len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = buckets
    return buckets


@dataclass(frozen=True)
class ChartBar:
    x: float
    width: float
    y: float
    height: float
    value: int
    series: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    top: int
    bottom: int
    bars: list[ChartBar]
    ticks: list[tuple[float, int]]
    labels: list[tuple[float, datetime]]
    buckets: list[Bucket]


def chart(buckets: list[Bucket], *, width: int = 640, height: int = 220) -> Chart:
    """Grouped bars (affected beside healthy) per bucket, with a y axis of round ticks."""
    top, bottom, left = 12, height - 34, 40
    peak = max([b.affected for b in buckets] + [b.healthy for b in buckets] + [1])
    step = next(s for s in _NICE_STEPS if peak / s <= 5) if peak <= 5 * _NICE_STEPS[-1] else peak
    scale_max = ((peak + step - 1) // step) * step
    plot = bottom - top
    slot = (width - left - 8) / max(len(buckets), 1)
    bar = slot * 0.36
    bars: list[ChartBar] = []
    labels: list[tuple[float, datetime]] = []
    for i, bucket in enumerate(buckets):
        x0 = left + i * slot + slot * 0.12
        for j, (name, value) in enumerate(
            (("affected", bucket.affected), ("healthy", bucket.healthy))
        ):
            h = plot * value / scale_max
            bars.append(ChartBar(x0 + j * bar, bar, bottom - h, h, value, name))
        labels.append((left + i * slot + slot / 2, bucket.end))
    ticks = [(bottom - plot * v / scale_max, v) for v in range(0, scale_max + 1, step)]
    return Chart(width, height, top, bottom, bars, ticks, labels, buckets)


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def markdown(suspect: Suspect, scope: Scope, trace_url: Callable[[str, str], str]) -> str:
    """The report a merchant can paste into a ticket to the vendor."""
    workspace = scope.workspace
    facts = {
        "name": workspace.name,
        "id": f"`{workspace.id}`",
        "as_of": _utc(scope.as_of),
        "hours": f"{scope.window_seconds / 3600:g}",
    }
    mode = f"`{suspect.mode}` ({gettext(MODE_WORDS.get(suspect.mode, suspect.mode))})"
    lines = [
        f"# {title(suspect)}",
        "",
        gettext("Workspace %(name)s (%(id)s) · as of %(as_of)s · window %(hours)s h") % facts,
        "",
        f"**{gettext('Verdict')}:** {sentence(suspect)}",
        "",
        f"- {gettext('Responsible:')} **{suspect.responsible}**",
        f"- {gettext('Failure mode')}: {mode}",
        f"- {gettext('Affected / healthy')}: {suspect.affected} / {suspect.healthy} · "
        f"{gettext('Confidence')}: {suspect.confidence:.0%}",
        f"- {gettext('First failure')}: {_utc(suspect.first_seen)} · "
        f"{gettext('Latest failure')}: {_utc(suspect.last_seen)}",
        "",
        f"## {gettext('Sample calls')}",
        "",
    ]
    if suspect.evidence.calls:
        heads = [gettext(h) for h in ("Time (UTC)", "Call", "Status", "Error", "Duration")]
        lines += ["| " + " | ".join(heads) + " |", "| --- | --- | --- | --- | --- |"]
        for call in suspect.evidence.calls:
            status = gettext("no response") if call.status is None else call.status
            lines.append(
                f"| {_utc(call.time)} | {_cell(call.caller)} → {_cell(call.target)} | {status} "
                f"| {_cell(call.error or '')} | {call.duration_ms:.0f} ms |"
            )
    else:
        lines.append(gettext("No call was recorded on this link in the window."))
    lines += ["", f"## {gettext('Affected entities')} ({gettext('sample')})", ""]
    for entity in suspect.evidence.entities:
        lines.append(
            f"- `{entity.namespace}:{entity.value}` — {trace_url(entity.namespace, entity.value)}"
        )
    if not suspect.evidence.entities:
        lines.append(gettext("None listed."))
    generated = gettext("Generated by Arbiter from the events each system recorded. Times in UTC.")
    lines += ["", f"_{generated}_", ""]
    return "\n".join(lines)
