"""The one ingest path: group commit, connectors' events validated like the API's, dropped
events reported, and nothing on the event loop that waits for a diagnosis."""

from __future__ import annotations

import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, create_engine, select, text

from app.connections.poller import backing_off, poll_once
from app.connections.service import load_target
from app.connections.tables import webhook_deliveries
from app.db.engine import make_writer_engine
from app.db.writer import Writer
from connectors.base import PollResult, RateLimited
from connectors.webhooks import sign_standard_webhook, sign_woocommerce
from graph.model import Event
from tests.app.conftest import WOO_SHOP, connect, topology
from tests.paths import FIXTURES
from tests.scenarios import CONTRACT_EVENTS


def _renamed_topology() -> dict[str, Any]:
    """The CONTRACT.md topology with flows named as another shop might name them."""
    renamed = topology()
    for link in renamed["links"]:
        link["flow"] = {"order": "orders", "stock": "inventory"}[link["flow"]]
    return renamed


# -- the writer -------------------------------------------------------------------------


@pytest.fixture
def writer(tmp_path: Path) -> Any:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with create_engine(url).begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER UNIQUE)"))
    writer = Writer(make_writer_engine(url))
    yield writer, url
    writer.close()


def test_concurrent_units_share_commits_and_each_is_answered_after_its_commit(writer: Any) -> None:
    writer_, url = writer
    reader = create_engine(url)

    def insert(n: int) -> bool:
        def work(connection: Connection) -> int:
            connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": n})
            return n

        assert writer_.run(work) == n
        # Answered: the row is committed, visible to another connection.
        with reader.connect() as connection:
            return (
                connection.execute(text("SELECT 1 FROM t WHERE x = :x"), {"x": n}).first()
                is not None
            )

    with ThreadPoolExecutor(32) as pool:
        assert all(pool.map(insert, range(400)))
    assert writer_.commits < 400  # grouped: fewer commits than units


def test_a_failing_unit_fails_alone(writer: Any) -> None:
    writer_, url = writer
    gate = threading.Event()

    def slow(connection: Connection) -> None:
        gate.wait(5)  # holds the writer so the next units land in one group
        connection.execute(text("INSERT INTO t VALUES (1)"))

    def insert(n: int) -> Any:
        return lambda connection: connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": n})

    first = writer_.submit(slow)
    good = writer_.submit(insert(2))
    duplicate = writer_.submit(insert(1))  # violates UNIQUE after `slow` inserted 1
    also_good = writer_.submit(insert(3))
    gate.set()
    first.result(5)
    good.result(5)
    also_good.result(5)
    with pytest.raises(Exception, match="UNIQUE"):
        duplicate.result(5)
    with create_engine(url).connect() as connection:
        assert sorted(r.x for r in connection.execute(text("SELECT x FROM t"))) == [1, 2, 3]


def test_batched_items_share_one_call_and_a_failing_item_fails_alone(writer: Any) -> None:
    writer_, url = writer
    gate = threading.Event()
    calls: list[list[int]] = []

    def insert_all(connection: Connection, items: list[int]) -> list[int]:
        calls.append(list(items))
        for x in items:
            connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})
        return [x * 2 for x in items]

    first = writer_.submit(lambda connection: gate.wait(5))  # holds the writer: one group next
    futures = [writer_.submit_batched(insert_all, x) for x in (10, 11, 10, 12)]
    gate.set()
    first.result(5)
    assert [f.result(5) for f in (futures[0], futures[1], futures[3])] == [20, 22, 24]
    with pytest.raises(Exception, match="UNIQUE"):
        futures[2].result(5)  # the second 10
    assert calls[0] == [10, 11, 10, 12]  # the group in one call, then each alone
    assert calls[1:] == [[10], [11], [10], [12]]
    with create_engine(url).connect() as connection:
        assert sorted(r.x for r in connection.execute(text("SELECT x FROM t"))) == [10, 11, 12]


def test_a_batch_hears_of_its_committed_items_once_per_commit(writer: Any) -> None:
    writer_, url = writer
    heard: list[tuple[list[int], list[int]]] = []

    class Insert:
        def __call__(self, connection: Connection, items: list[int]) -> list[int]:
            for x in items:
                connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})
            return [-x for x in items]

        def committed(self, items: list[int], results: list[int]) -> None:
            with create_engine(url).connect() as connection:  # already visible to others
                count = connection.execute(text("SELECT count(*) FROM t")).scalar_one()
            assert count >= len(items)
            heard.append((items, results))

    gate = threading.Event()
    insert = Insert()
    first = writer_.submit(lambda connection: gate.wait(5))
    futures = [writer_.submit_batched(insert, x) for x in (1, 2, 1)]  # the second 1 fails
    gate.set()
    first.result(5)
    assert [futures[0].result(5), futures[1].result(5)] == [-1, -2]
    assert heard == [([1, 2], [-1, -2])]


def test_async_callers_are_answered_after_the_commit(writer: Any) -> None:
    import asyncio

    writer_, url = writer
    reader = create_engine(url)

    def insert_all(connection: Connection, items: list[int]) -> list[int]:
        for x in items:
            connection.execute(text("INSERT INTO t VALUES (:x)"), {"x": x})
        return items

    async def one(x: int) -> bool:
        assert await writer_.run_batched_async(insert_all, x) == x
        with reader.connect() as connection:
            return (
                connection.execute(text("SELECT 1 FROM t WHERE x = :x"), {"x": x}).first()
                is not None
            )

    async def many() -> list[bool]:
        return await asyncio.gather(*(one(x) for x in range(50)))

    assert all(asyncio.run(many()))


# -- other flow names, dropped events ---------------------------------------------------


def _woo_order() -> bytes:
    return (FIXTURES / "woocommerce" / "webhook_order_updated.json").read_bytes()


def test_woocommerce_webhook_stores_into_flows_with_other_names(client: TestClient) -> None:
    client.put("/api/v1/workspaces/acme", json={})
    assert (
        client.put("/api/v1/workspaces/acme/topology", json=_renamed_topology()).status_code == 200
    )
    connect(client, "shop", **WOO_SHOP, webhook_secret="s3").raise_for_status()
    body = _woo_order()
    response = client.post(
        "/webhooks/acme/shop",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Delivery-ID": "77",
            "X-WC-Webhook-Signature": sign_woocommerce(body, "s3"),
        },
    )
    assert response.status_code == 200, response.text
    assert "dropped" not in response.json()
    stored = client.get("/api/v1/workspaces/acme/events").json()["events"]
    assert [e["flow"] for e in stored] == ["orders"]


def test_events_the_topology_cannot_take_are_dropped_with_their_reason(
    client: TestClient, workspace: str
) -> None:
    topo = topology()
    topo["systems"].append({"id": "mw", "kind": "generic", "vendor": "Middleware"})
    assert client.put("/api/v1/workspaces/acme/topology", json=topo).status_code == 200
    secret = "whsec_c2VjcmV0LWtleS1mb3Itd21zLXdlYmhvb2tzIQ=="
    connect(client, "mw", webhook_secret=secret).raise_for_status()
    good = {**CONTRACT_EVENTS[0], "system": "mw"}
    bad = {**good, "id": "bad-flow", "flow": "returns"}
    body = json.dumps({"events": [good, bad]}).encode()
    now = int(time.time())
    response = client.post(
        "/webhooks/acme/mw",
        content=body,
        headers={
            "Content-Type": "application/json",
            "webhook-id": "msg_1",
            "webhook-timestamp": str(now),
            "webhook-signature": sign_standard_webhook(secret, "msg_1", now, body),
        },
    )
    assert response.status_code == 200, response.text
    dropped = response.json()["dropped"]
    assert len(dropped) == 1
    assert "'bad-flow'" in dropped[0]
    assert "'returns' is not a flow" in dropped[0]
    ids = [e["id"] for e in client.get("/api/v1/workspaces/acme/events").json()["events"]]
    assert ids == [good["id"]]
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        row = connection.execute(select(webhook_deliveries)).one()
    assert row.processed_at is not None
    assert "'returns' is not a flow" in row.error


# -- the event loop ---------------------------------------------------------------------


def test_ingest_and_healthz_answer_while_a_diagnosis_holds_the_index(
    client: TestClient, workspace: str
) -> None:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    assert client.get("/api/v1/workspaces/acme/diagnosis").status_code == 200  # index loaded
    _index, lock = runtime.indexes.index("acme")
    answers: dict[str, float] = {}

    def requests() -> None:
        for n in range(3):
            began = time.perf_counter()
            batch = [{**CONTRACT_EVENTS[0], "id": f"held-{n}"}]
            assert client.post("/api/v1/workspaces/acme/events", json={"events": batch}).is_success
            answers[f"events {n}"] = time.perf_counter() - began
            began = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            answers[f"healthz {n}"] = time.perf_counter() - began

    with lock:  # what a long cold diagnosis does: hold the index
        thread = threading.Thread(target=requests)
        thread.start()
        thread.join(timeout=20)
        blocked = thread.is_alive()
    thread.join()
    assert not blocked, "requests waited for the index lock"
    assert max(answers.values()) < 5, answers
    runtime.settle()
    diagnosis = client.get("/api/v1/workspaces/acme/diagnosis")
    assert diagnosis.status_code == 200


class _Polled:
    """A connector whose poll returns one event of a flow the topology has and one it has not."""

    kind = "woocommerce"

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        good = Event.model_validate({**CONTRACT_EVENTS[0], "id": "polled-1"})
        bad = Event.model_validate({**CONTRACT_EVENTS[0], "id": "polled-2", "flow": "returns"})
        return PollResult(events=[good, bad], cursor={"page": 2})


def test_a_poll_stores_what_the_topology_takes_and_shows_what_it_dropped(
    client: TestClient, workspace: str
) -> None:
    connect(client, "shop", **WOO_SHOP).raise_for_status()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        target = load_target(connection, runtime.secrets, "acme", "shop")
    status = client.portal.call(poll_once, runtime, target, _Polled())  # type: ignore[union-attr]
    assert status["dropped_last_poll"] == 1
    assert "'polled-2'" in status["dropped"][0]
    shown = client.get("/api/v1/workspaces/acme/systems/shop/connection").json()
    assert shown["status"]["dropped_last_poll"] == 1
    ids = [e["id"] for e in client.get("/api/v1/workspaces/acme/events").json()["events"]]
    assert ids == ["polled-1"]


class _Blocked:
    """BaseLinker's answer once the limit was exceeded: the token is blocked for a while."""

    kind = "baselinker"

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        raise RateLimited("getOrders: ERROR ERROR_BLOCKED_TOKEN", retry_after=150.0)


def test_a_throttled_poll_backs_off_until_the_system_allows(
    client: TestClient, workspace: str
) -> None:
    oms = {"base_url": "https://api.baselinker.com", "credentials": {"token": "t"}}
    connect(client, "oms", **oms).raise_for_status()
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        target = load_target(connection, runtime.secrets, "acme", "oms")
    assert not backing_off(target)
    status = client.portal.call(poll_once, runtime, target, _Blocked())  # type: ignore[union-attr]
    assert status["error_kind"] == "RateLimited"
    with runtime.engine.connect() as connection:
        target = load_target(connection, runtime.secrets, "acme", "oms")
    assert backing_off(target)  # the loop skips it until then


# -- the validation's and the insert's shortcuts ------------------------------------------


def test_the_sqlite_time_text_is_the_dialects_own() -> None:
    import random
    from datetime import UTC, datetime, timedelta, timezone

    from app.db.tables import events
    from app.events.service import _sqlite_time, _utc_text, time_processor

    dialect = create_engine("sqlite://").dialect
    processor = events.c.time.type.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None
    assert time_processor(dialect) is _sqlite_time
    rng = random.Random(12)
    for _ in range(5000):
        moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(
            seconds=rng.uniform(0, 7e9), microseconds=rng.choice([0, rng.randint(0, 999_999)])
        )
        moment = moment.astimezone(timezone(timedelta(minutes=rng.randint(-900, 900))))
        assert _sqlite_time(moment) == processor(moment)
        # Read from the stored body when it is in UTC (an id with a quoted "time" before it).
        for when in (moment, moment.astimezone(UTC), moment.astimezone(UTC).replace(microsecond=0)):
            event = Event.model_validate(
                {**CONTRACT_EVENTS[0], "id": 'e"time":"x', "time": when.isoformat()}
            )
            text_of_body = _utc_text(event.json_text())
            assert text_of_body in (
                (None, processor(when)) if when.utcoffset() else (processor(when),)
            )
    with pytest.raises(ValueError, match="naive"):
        _sqlite_time(datetime(2026, 11, 25))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_a_value_called_clean_has_no_problem(value: Any) -> None:
    from app.events.models import _clean, value_problems

    if _clean([value]):
        assert value_problems(value, []) == []
    deep: Any = value
    for _ in range(40):
        deep = [deep]
    assert not _clean([deep])
    assert value_problems(deep, [])


texts = st.text(max_size=8) | st.sampled_from(["", "\x00", "\udfff", "ż", "a\x00b", "\x7f", "ok"])
numbers = st.none() | st.integers() | st.floats() | st.sampled_from([2**63, -(2**63) - 1])
offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-18 * 60 + 1, 18 * 60 - 1)
)


@st.composite
def events(draw: st.DrawFn) -> Event:
    """Events with any text, number and nesting where the stored JSON could go wrong."""
    call = draw(st.booleans())
    outcome = {"status": draw(st.none() | st.integers(100, 599)), "duration_ms": 1.5}
    if draw(st.booleans()):
        outcome["error"] = draw(texts)
    item = {
        "id": draw(texts.filter(bool)),
        "time": draw(st.datetimes(timezones=offsets)).isoformat(),
        "flow": "order",
        "kind": "call" if call else "seen",
        "system": "shop",
        **({"target": "oms", "outcome": outcome} if call else {}),
        "refs": draw(
            st.dictionaries(texts.filter(bool), texts.filter(bool), min_size=1, max_size=3)
        ),
        "state": draw(st.none() | texts),
        "quantity": draw(numbers.filter(lambda n: not isinstance(n, float) or math.isfinite(n))),
        "data": draw(st.none() | st.dictionaries(st.text(max_size=3), json_values, max_size=3)),
    }
    try:
        return Event.model_validate(item)
    except ValueError:  # what the model itself refuses is not the question here
        reject()


@settings(max_examples=400, deadline=None)
@given(events())
def test_storable_is_storable_problems_finding_nothing(event: Event) -> None:
    from app.events.models import storable, storable_problems

    assert storable(event) == (storable_problems(event) == [])


@settings(max_examples=400, deadline=None)
@given(events())
def test_the_stored_body_is_the_events_json(event: Event) -> None:
    """pydantic-core's text of the event (stored for every storable event) reads back as the
    same JSON as ``json.dumps(event.to_json())``, ``outcome.status`` null kept."""
    from app.events.models import storable

    if storable(event):
        body = event.json_text()
        assert json.loads(body) == json.loads(json.dumps(event.to_json()))
        assert Event.model_validate_json(body) == event
