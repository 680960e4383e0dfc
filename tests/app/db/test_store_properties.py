"""Anything the Event schema accepts round-trips through the store unchanged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from app.db.engine import make_engine, migrate
from app.events.service import read_events, store_events
from app.topology.service import put_topology
from app.workspaces.service import put_workspace
from graph.model import Event, Topology
from tests.app.conftest import CONTRACT_TOPOLOGY

text = st.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s)
zones = st.integers(min_value=-12 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=zones
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | text
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
refs = st.dictionaries(text, text, min_size=1, max_size=4)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["seen", "call"]))
    event: dict[str, Any] = {
        "id": draw(st.text(min_size=1, max_size=200).filter(lambda s: "\x00" not in s)),
        "time": draw(times).isoformat(),
        "flow": draw(st.sampled_from(["order", "stock"])),
        "kind": kind,
        "system": draw(st.sampled_from(["shop", "oms", "erp", "arbiter"])),
    }
    if kind == "seen" or draw(st.booleans()):
        event["refs"] = draw(refs)
    if draw(st.booleans()):
        event["state"] = draw(text)
    if draw(st.booleans()):
        event["quantity"] = draw(st.integers(-(10**9), 10**9) | st.floats(-1e9, 1e9))
    if draw(st.booleans()):
        event["data"] = draw(st.dictionaries(text, json_values, max_size=4))
    if kind == "call":
        event["target"] = draw(
            st.sampled_from([s for s in ("shop", "oms", "erp") if s != event["system"]])
        )
        event["outcome"] = {
            "status": draw(st.none() | st.integers(100, 599)),
            "duration_ms": draw(st.floats(0, 1e7) | st.integers(0, 10**7)),
        }
        if draw(st.booleans()):
            event["outcome"]["error"] = draw(text)
    return event


def _store(tmp: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp / 'props.db'}")
    migrate(engine)
    with engine.begin() as connection:
        put_workspace(connection, "p", None)
        put_topology(connection, "p", Topology.model_validate(CONTRACT_TOPOLOGY))
    return engine


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=events())
def test_accepted_event_round_trips(tmp_path: Path, raw: dict[str, Any]) -> None:
    engine = (
        _store(tmp_path)
        if not (tmp_path / "props.db").exists()
        else make_engine(f"sqlite:///{tmp_path / 'props.db'}")
    )
    event = Event.model_validate(raw)
    with engine.begin() as connection:
        result = store_events(connection, "p", [event])
    with engine.connect() as connection:
        page = read_events(connection, "p", ref=next(iter(event.refs.items()), None), limit=1000)
    engine.dispose()
    back = [e for e in page.events if e["id"] == event.id]
    if result.accepted:
        assert len(back) == 1
        again = Event.model_validate(back[0])
        assert again == event
        assert again.time.utcoffset() == event.time.utcoffset()
        assert again.time.astimezone(UTC) == event.time.astimezone(UTC)
