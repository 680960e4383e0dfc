"""PostgreSQL's time partitions of the event tables: made ahead, dropped whole by retention,
duplicates still found across them, and an existing store converted with its data."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, insert, select

from app.db import partitions, retention
from app.db.engine import MIGRATIONS, make_engine, make_writer_engine, migrate
from app.db.tables import event_ids, events
from app.db.writer import Writer
from app.events.service import store_events
from app.incidents.tables import incidents
from app.main import create_app
from app.settings import Settings
from graph.model import Event
from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.conftest import ADMIN_TOKEN, fresh_postgres_database
from tests.scenarios import CONTRACT_EVENTS

pytestmark = pytest.mark.postgres

URL = "/api/v1/workspaces/acme"
NOW = datetime.now(UTC)


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    with fresh_postgres_database(postgres_url) as url:
        yield url


@pytest.fixture
def pg_client(pg_url: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(  # no background sweep racing the test's own
        data_dir=tmp_path / "data", database_url=pg_url, admin_token=ADMIN_TOKEN, background=False
    )
    with TestClient(
        create_app(settings), headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as client:
        assert client.put(URL, json={"name": "ACME"}).status_code == 201
        assert client.put(f"{URL}/topology", json=CONTRACT_TOPOLOGY).status_code == 200
        yield client


def _event(name: str, time: datetime) -> dict[str, Any]:
    return {**CONTRACT_EVENTS[0], "id": name, "time": time.isoformat(), "refs": {"shop": name}}


def _post(client: TestClient, *batch: dict[str, Any]) -> dict[str, int]:
    answer = client.post(f"{URL}/events", json={"events": list(batch)})
    assert answer.status_code == 202, answer.text
    result: dict[str, int] = answer.json()
    return result


def _partitions(connection: Connection, table: str) -> list[str]:
    return sorted(
        connection.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            (table,),
        ).scalars()
    )


def _where(connection: Connection, event_id: str) -> str:
    found: str = connection.exec_driver_sql(
        "SELECT tableoid::regclass::text FROM events WHERE event_id = %s", (event_id,)
    ).scalar_one()
    return found


def test_event_tables_are_partitioned_by_week_ahead_with_a_default(pg_client: TestClient) -> None:
    runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    now_week = partitions.week_of(NOW)
    _post(pg_client, _event("now", NOW), _event("ancient", NOW - timedelta(days=3000)))
    with runtime.engine.connect() as connection:
        for table in partitions.PARTITIONED:
            names = _partitions(connection, table)
            assert f"{table}_default" in names
            for ahead in range(partitions.AHEAD_WEEKS + 1):
                week = now_week + timedelta(days=7 * ahead)
                assert partitions.partition_name(table, week) in names
        assert _where(connection, "now") == partitions.partition_name("events", now_week)
        # No week of its own so far back: the safety net takes it, the insert does not fail.
        assert _where(connection, "ancient") == "events_default"


def test_a_missing_week_is_made_on_insert_and_its_default_rows_move_into_it(
    pg_client: TestClient,
) -> None:
    runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    later = NOW + timedelta(days=7 * (partitions.AHEAD_WEEKS + 3))
    _post(pg_client, _event("far", later))  # beyond the weeks made ahead: DEFAULT
    with runtime.engine.begin() as connection:
        assert _where(connection, "far") == "events_default"
        partitions.create(connection, "events", partitions.week_of(later))
        moved = partitions.partition_name("events", partitions.week_of(later))
        assert _where(connection, "far") == moved
    week = partitions.week_of(NOW) + timedelta(days=7)
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE {partitions.partition_name('events', week)}")
    runtime.writer.close()  # its connection remembers the weeks it saw; a new writer does not
    runtime.writer = Writer(make_writer_engine(runtime.settings.store.resolved_database_url))
    _post(pg_client, _event("next-week", datetime.combine(week, datetime.min.time(), UTC)))
    with runtime.engine.connect() as connection:
        assert _where(connection, "next-week") == partitions.partition_name("events", week)


def test_an_insert_does_not_wait_for_a_week_while_a_reader_holds_the_table(
    pg_client: TestClient,
) -> None:
    """A long read (an open transaction that read ``events``) blocks the DDL of a new week;
    the insert gives up on the week after a moment, stores its row in DEFAULT, and the sweep
    makes the week once the reader is gone."""
    runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    week = partitions.week_of(NOW) + timedelta(days=14)
    with runtime.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE {partitions.partition_name('events', week)}")
    runtime.writer.close()  # a new writer does not remember the dropped week
    runtime.writer = Writer(make_writer_engine(runtime.settings.store.resolved_database_url))
    moment = datetime.combine(week, datetime.min.time(), UTC)
    with runtime.engine.connect() as reader:
        reader.execute(select(func.count()).select_from(events)).scalar_one()  # holds its lock
        assert _post(pg_client, _event("while-read", moment)) == {"accepted": 1, "duplicates": 0}
        with runtime.engine.connect() as connection:
            assert _where(connection, "while-read") == "events_default"
        reader.rollback()
    retention.maintain(runtime.engine, runtime.writer, days=0)
    with runtime.engine.connect() as connection:
        assert _where(connection, "while-read") == partitions.partition_name("events", week)


def test_an_id_the_workspace_holds_is_a_duplicate_whatever_its_partition(
    pg_client: TestClient,
) -> None:
    first = _event("order-1", NOW)
    again = {**first, "time": (NOW - timedelta(days=10)).isoformat()}  # another week
    assert _post(pg_client, first) == {"accepted": 1, "duplicates": 0}
    assert _post(pg_client, again) == {"accepted": 0, "duplicates": 1}
    assert _post(pg_client, first, _event("order-2", NOW)) == {"accepted": 1, "duplicates": 1}
    runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(events)).scalar_one() == 2


def test_a_batch_is_stored_whole_through_the_column_arrays(pg_client: TestClient) -> None:
    """The events and refs inserts of PostgreSQL (one array a column): every value of every
    row, NULLs and non-ASCII included, read back as posted, refs found, seq in batch order."""
    batch = [
        {**_event(f"o-{n}", NOW - timedelta(seconds=n)), "state": None if n % 2 else "nowy ż"}
        for n in range(1500)  # over one statement's 1,000 rows
    ]
    batch[8] = {**batch[8], "refs": {"shop": "o-8", "oms": "OMS/8"}, "data": {"a": [1, None]}}
    assert _post(pg_client, *batch) == {"accepted": 1500, "duplicates": 0}
    assert _post(pg_client, *batch[:10]) == {"accepted": 0, "duplicates": 10}
    page = pg_client.get(f"{URL}/events", params={"ref": "oms:OMS/8"}).json()["events"]
    assert [event["id"] for event in page] == ["o-8"]
    assert page[0]["data"] == {"a": [1, None]}
    assert page[0]["state"] == "nowy ż"
    runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(events).order_by(events.c.seq)).all()
        refs = connection.exec_driver_sql("SELECT count(*) FROM event_refs").scalar_one()
    assert [row.event_id for row in rows] == [event["id"] for event in batch]
    assert refs == 1501
    for row, event in zip(rows, batch, strict=True):
        assert row.time == datetime.fromisoformat(event["time"])
        assert (row.flow, row.kind, row.system, row.target) == ("order", "seen", "shop", None)
        assert Event.model_validate_json(row.body) == Event.model_validate(event)


def _incident(connection: Connection, opened: datetime) -> None:
    connection.execute(
        insert(incidents).values(
            workspace_id="acme", key="order:shop>oms:stuck", flow="order", from_system="shop",
            to_system="oms", family="stuck", mode="missing", responsible="BaseLinker",
            status="resolved", phase="resolved", confidence=0.9, affected=3, opened_affected=3,
            peak_affected=3, healthy=0, escalation=0, flaps=0, summary="3 orders stuck",
            evidence="{}", links=json.dumps([{"flow": "order", "from": "shop", "to": "oms"}]),
            first_failure=opened, last_seen=opened + timedelta(hours=1), opened_at=opened,
            updated_at=opened + timedelta(hours=2), resolved_at=opened + timedelta(hours=2),
        )
    )  # fmt: skip


def test_retention_drops_the_expired_weeks_only_and_keeps_incidents_and_sla(
    pg_client: TestClient,
) -> None:
    runtime = pg_client.app.state.runtime  # type: ignore[attr-defined]
    runtime.writer.run(lambda c: partitions.maintain(c, keep_days=365))  # a year of weeks
    ages = {"d200": 200, "d100": 100, "d10": 10, "d0": 0, "d900": 900}
    _post(pg_client, *(_event(name, NOW - timedelta(days=age)) for name, age in ages.items()))
    with runtime.engine.begin() as connection:
        _incident(connection, NOW - timedelta(days=150))
    period = {
        "since": (NOW - timedelta(days=160)).isoformat(),
        "until": (NOW - timedelta(days=140)).isoformat(),
    }
    sla_before = pg_client.get(f"{URL}/reports/sla", params=period).json()
    assert sla_before["incidents"]

    done = retention.expire(runtime.engine, runtime.writer, days=90, now=NOW)

    assert done.events == 3  # 200 and 100 days old (their weeks dropped), 900 (from DEFAULT)
    cutoff_week = partitions.week_of(NOW - timedelta(days=90))
    with runtime.engine.connect() as connection:
        for table in partitions.PARTITIONED:
            weeks = partitions.weeks(connection, table)
            assert min(weeks) == cutoff_week  # every week wholly past the cutoff is gone...
            assert max(weeks) >= partitions.week_of(NOW)  # ...and the recent ones stay
        kept = sorted(connection.execute(select(events.c.event_id)).scalars())
        keys = sorted(connection.execute(select(event_ids.c.event_id)).scalars())
        assert connection.execute(select(func.count()).select_from(incidents)).scalar_one() == 1
    assert kept == keys == ["d0", "d10"]
    assert pg_client.get(f"{URL}/reports/sla", params=period).json() == sla_before
    # A kept event is still a duplicate; an expired one is new again (nothing holds it).
    assert _post(pg_client, _event("d10", NOW - timedelta(days=10))) == {
        "accepted": 0,
        "duplicates": 1,
    }
    assert _post(pg_client, _event("d100", NOW - timedelta(days=100)))["accepted"] == 1
    assert retention.expire(runtime.engine, runtime.writer, days=90, now=NOW).events == 1


def _upgrade(engine: Engine, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, target)


def test_an_existing_store_is_converted_with_every_row_kept(pg_url: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    before = ScriptDirectory.from_config(config).get_revision("event_partitions")
    assert before is not None
    engine = make_engine(pg_url)
    try:
        for target in (str(before.down_revision), "0003"):
            _upgrade(engine, target)  # the store as it was, unpartitioned
        times = [NOW - timedelta(days=d) for d in (400, 30, 1)]
        with engine.begin() as connection:
            run = connection.exec_driver_sql
            run("INSERT INTO workspaces VALUES ('acme', 'ACME', now())")
            for n, time in enumerate(times):
                run(
                    "INSERT INTO events (workspace_id, event_id, time, flow, kind, system, body,"
                    " received_at) VALUES ('acme', %s, %s, 'order', 'seen', 'shop', '{}', now())",
                    (f"e{n}", time),
                )
                run(
                    "INSERT INTO event_refs SELECT seq, 'shop', 'acme', %s FROM events"
                    " WHERE event_id = %s",
                    (str(n), f"e{n}"),
                )
            run(
                "INSERT INTO webhook_deliveries (workspace_id, system_id, delivery_id, headers,"
                " body, received_at) VALUES ('acme', 'shop', 'd1', '{}', '\\x7b7d', now())"
            )
            top = run("SELECT max(seq) FROM events").scalar_one()

        migrate(engine)

        with engine.begin() as connection:
            run = connection.exec_driver_sql
            assert "events_default" in _partitions(connection, "events")
            rows = run("SELECT event_id, time FROM events ORDER BY seq").all()
            assert [(r.event_id, r.time) for r in rows] == [
                (f"e{n}", t) for n, t in enumerate(times)
            ]
            refs = run("SELECT r.time = e.time FROM event_refs r JOIN events e USING (seq)").all()
            assert [r[0] for r in refs] == [True, True, True]
            for n in range(len(times)):  # existing history (up to two years) has its weeks
                assert _where(connection, f"e{n}") != "events_default"
            delivery = {
                "workspace_id": "acme", "system_id": "shop", "delivery_id": "d1",
                "headers": "{}", "body": b"{}", "received_at": NOW, "processed_at": None,
                "error": None,
            }  # fmt: skip
            assert connection.execute(partitions.DELIVERY_INSERT, delivery).first() is None
            fresh = connection.execute(
                partitions.DELIVERY_INSERT, {**delivery, "delivery_id": "d2"}
            ).scalar_one()
            assert fresh > 1
            batch = [
                Event.model_validate(_event(name, NOW - timedelta(days=days)))
                for name, days in (("e1", 30), ("e9", 0))
            ]
            result = store_events(connection, "acme", batch)
            assert (result.accepted, result.duplicates) == (1, 1)  # e1 was held before
            assert result.stored[0][0] > top  # the sequence goes on from where it was
    finally:
        engine.dispose()
