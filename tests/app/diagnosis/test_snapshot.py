"""A restart loads each workspace's index from its snapshot, and answers exactly as a rebuild
from the store would; a snapshot it cannot trust is ignored."""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.diagnosis import service as diagnosis_service
from app.diagnosis import snapshot as snapshot_module
from app.diagnosis.snapshot import MAGIC, Snapshot, Snapshots
from app.main import create_app
from app.settings import Settings
from graph.journeys import Call
from graph.model import Event
from tests.conftest import ADMIN_TOKEN
from tests.scenarios import STANDARD_TOPOLOGY, World, oms_id

URL = "/api/v1/workspaces/acme"
HOUR = 3600.0
DAY = 24 * HOUR


def _history() -> World:
    """Three days of a shop: healthy orders, the OMS's list polls (some answered 503) and
    Arbiter's probes, and on the last day orders the ERP refuses and one stuck in the shop."""
    world = World()
    world.busy(140, every=1800)
    for n in range(0, int(3 * DAY), 900):
        world.call("oms", "shop", n, 503 if n % 7 == 0 else 200)
        world.probe("erp", n + 30, 200)
    for n in range(5):
        world.order(n, at=2.5 * DAY + 600 * n, pushes=(503, 503, 503), erp_after=None)
    world.order(90, at=2.6 * DAY, oms_after=None)
    world.stock("erp", "SKU-1", 2.7 * DAY, 5)
    return world


def _later(world: World) -> list[dict[str, Any]]:
    """What arrives after the snapshot was written: an order completes, new ones fail."""
    first = len(world.events)
    world.order(1, at=2.5 * DAY + 600, oms_after=60, pushes=(503, 503, 503, 201), erp_after=200)
    for n in range(100, 104):
        world.order(n, at=2.9 * DAY + 300 * (n - 100), pulls=(503, 503), oms_after=None)
    world.call("oms", "shop", 2.95 * DAY, 503)
    return [e.to_json() for e in world.events[first:]]


AS_OF = World().time(3.2 * DAY).isoformat()


def _answers(client: TestClient) -> list[Any]:
    """Diagnoses (the default window and two days) and traces, as of the same moment."""
    found: list[Any] = []
    for window in (DAY, 2 * DAY):
        response = client.get(f"{URL}/diagnosis", params={"as_of": AS_OF, "window_seconds": window})
        assert response.status_code == 200, response.text
        found.append(response.json())
    for namespace, value in (("oms", oms_id(1)), ("shop", "90"), ("shop", "101")):
        response = client.get(f"{URL}/traces/{namespace}/{value}", params={"as_of": AS_OF})
        found.append((response.status_code, response.json()))
    return found


@pytest.fixture
def restart(settings_factory: Callable[..., Settings]) -> Callable[[], Iterator[TestClient]]:
    """A new service on the same store (and data dir), as after a restart."""

    def start() -> Iterator[TestClient]:
        app = create_app(settings_factory())
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
            yield client

    return start


def _snapshot_path(client: TestClient) -> Path:
    return client.app.state.runtime.settings.store.data_dir / "index" / "acme.index"  # type: ignore[attr-defined, no-any-return]


def _saved(client: TestClient) -> Path:
    """The snapshot of the client's service, written now (as at its shutdown)."""
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    runtime.settle()
    runtime.indexes.save_all()
    path = _snapshot_path(client)
    assert path.exists()
    return path


def _rebuilt(restart: Callable[[], Iterator[TestClient]], path: Path) -> list[Any]:
    path.unlink(missing_ok=True)
    started = restart()
    client = next(started)
    try:
        return _answers(client)
    finally:
        next(started, None)


def test_a_restart_from_the_snapshot_answers_as_a_rebuild(
    client: TestClient,
    workspace: str,
    restart: Callable[[], Iterator[TestClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = _history()
    events = [e.to_json() for e in world.events]
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    before = _answers(client)
    assert before[0]["suspects"], "the history has something to diagnose"
    path = _saved(client)
    # Events stored after the snapshot, by the same process.
    assert client.post(f"{URL}/events", json={"events": _later(world)}).status_code == 202
    client.app.state.runtime.settle()  # type: ignore[attr-defined]
    moved = _answers(client)
    assert moved != before

    def rebuild(*_args: object) -> None:
        raise AssertionError("rebuilt from the store instead of loaded from the snapshot")

    with monkeypatch.context() as patched:
        patched.setattr(diagnosis_service.IndexRegistry, "_load", rebuild)
        started = restart()
        restored = next(started)
        from_snapshot = _answers(restored)
        next(started, None)  # its shutdown writes a newer snapshot: removed before the rebuild
    assert from_snapshot == moved
    assert from_snapshot == _rebuilt(restart, path)


def test_an_index_extended_for_older_days_is_saved_as_its_live_period(
    client: TestClient, workspace: str, restart: Callable[[], Iterator[TestClient]]
) -> None:
    events = [e.to_json() for e in _history().events]
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    three_days = {"as_of": AS_OF, "window_seconds": 3 * DAY}  # as a dashboard's longer view
    assert client.get(f"{URL}/diagnosis", params=three_days).status_code == 200
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    extended = len(runtime.indexes.index("acme")[0])
    path = _saved(client)
    saved = Snapshots(path.parent).load("acme")
    assert saved is not None
    assert 0 < len(saved.index) < extended  # the live period, not the days before it
    started = restart()
    from_snapshot = _answers(next(started))
    next(started, None)
    assert from_snapshot == _rebuilt(restart, path)


def _damaged(path: Path, _client: TestClient, _monkeypatch: pytest.MonkeyPatch) -> str:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return "damaged"


def _of_other_code(_path: Path, _client: TestClient, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(snapshot_module, "fingerprint", lambda: "other code")
    return "another version"


def _of_an_earlier_life(path: Path, client: TestClient, _monkeypatch: pytest.MonkeyPatch) -> str:
    """The workspace deleted and made again with other events; the old snapshot put back."""
    kept = path.read_bytes()
    assert client.delete(URL).status_code == 204
    assert not path.exists()
    topology = STANDARD_TOPOLOGY.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert client.put(URL, json={"name": "ACME"}).status_code == 201
    assert client.put(f"{URL}/topology", json=topology).status_code == 200
    world = World()
    world.busy(30, start=2.9 * DAY, every=600)
    events = [e.to_json() for e in world.events]
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    client.app.state.runtime.settle()  # type: ignore[attr-defined]
    client.app.state.runtime.indexes.drop("acme")  # type: ignore[attr-defined]
    path.write_bytes(kept)
    return "not of this store"


@pytest.mark.parametrize("spoil", [_damaged, _of_other_code, _of_an_earlier_life])
def test_a_snapshot_that_cannot_be_trusted_is_ignored(
    client: TestClient,
    workspace: str,
    restart: Callable[[], Iterator[TestClient]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    spoil: Callable[[Path, TestClient, pytest.MonkeyPatch], str],
) -> None:
    events = [e.to_json() for e in _history().events]
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    assert client.get(f"{URL}/diagnosis", params={"as_of": AS_OF}).status_code == 200
    path = _saved(client)
    # The first service writes no other snapshot over the spoiled one (its evaluator runs on).
    monkeypatch.setattr(client.app.state.runtime.indexes, "save", lambda *_args: None)  # type: ignore[attr-defined]
    reason = spoil(path, client, monkeypatch)
    with caplog.at_level(logging.WARNING, logger="arbiter.diagnosis"):
        started = restart()
        ignored = _answers(next(started))
        next(started, None)
    assert any("snapshot of acme ignored" in r.getMessage() and reason in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]  # fmt: skip
    assert ignored == _rebuilt(restart, path)


def test_the_snapshot_is_the_index_again_in_pieces(tmp_path: Path) -> None:
    world = World()
    world.busy(1200, every=20)  # several thousand events: dicts and lists in many pieces
    for n in range(3000):
        world.call("oms", "shop", 10 * n, 503 if n % 11 == 0 else 200)
    index = world.index()
    as_of = world.time(8 * HOUR)
    before = index.diagnose(STANDARD_TOPOLOGY, as_of=as_of)
    snapshots = Snapshots(tmp_path)
    now = datetime.now().astimezone()
    saved = Snapshot(index, 7, "e7", as_of, [("shop", "1")], now, now)
    snapshots.save("acme", saved)
    loaded = snapshots.load("acme")
    assert loaded is not None
    assert (loaded.watermark, loaded.watermark_event, loaded.held_open) == (
        7,
        "e7",
        [("shop", "1")],
    )
    restored = loaded.index
    assert len(restored) == len(index)
    assert restored.diagnose(STANDARD_TOPOLOGY, as_of=as_of) == before
    assert restored.trace(STANDARD_TOPOLOGY, "shop", "500007", as_of=as_of) == index.trace(
        STANDARD_TOPOLOGY, "shop", "500007", as_of=as_of
    )
    # A call is one object in its journey and in its link's log, as in the index saved.
    facts = {id(f) for facts in vars(restored)["_facts"].values() for f in facts}
    logged = vars(vars(restored)["_logs"])["_entity"][("order", "oms", "shop")]
    assert isinstance(logged[0], Call)
    assert id(logged[0]) in facts
    assert snapshots.load("other") is None
    data = snapshots.path("acme").read_bytes()
    snapshots.path("acme").write_bytes(data[: len(data) // 2])  # cut short: a full disk
    assert snapshots.load("acme") is None


def test_a_snapshot_naming_other_classes_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    body = pickle.dumps({"fingerprint": snapshot_module.fingerprint(), "workspace": "acme"})
    body += pickle.dumps(("value", logging.Logger))  # any class outside graph
    (tmp_path / "acme.index").write_bytes(MAGIC + body + hashlib.sha256(body).digest())
    with caplog.at_level(logging.WARNING, logger="arbiter.diagnosis"):
        assert Snapshots(tmp_path).load("acme") is None
    assert "names logging.Logger" in caplog.text


def test_a_half_written_snapshot_left_by_a_killed_process_goes_at_the_next_save(
    tmp_path: Path,
) -> None:
    snapshots = Snapshots(tmp_path)
    abandoned = tmp_path / "acme.index.4242.part"
    recent = tmp_path / "acme.index.4343.part"  # another process writing at this moment
    for part in (abandoned, recent):
        part.write_bytes(b"half of an index")
    hours_ago = datetime.now().timestamp() - 2 * HOUR
    os.utime(abandoned, (hours_ago, hours_ago))
    now = datetime.now().astimezone()
    snapshots.save("acme", Snapshot(World().index(), 1, "e1", None, [], now, now))
    assert not abandoned.exists()
    assert recent.exists()
    assert snapshots.load("acme") is not None


def test_diagnoses_and_events_go_on_while_a_snapshot_is_written(
    client: TestClient, workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = _history()
    events = [e.to_json() for e in world.events]
    assert client.post(f"{URL}/events", json={"events": events}).status_code == 202
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    _answers(client)  # builds the index: its snapshot is written on a thread after the answer
    assert client.post(f"{URL}/events", json={"events": _later(world)}).status_code == 202
    runtime.settle()
    as_of = datetime.fromisoformat(AS_OF)
    copied = runtime.indexes.diagnose("acme", as_of, DAY)
    writing, go_on = threading.Event(), threading.Event()
    write = Snapshots.save

    def slow(self: Snapshots, workspace_id: str, snapshot: Snapshot) -> None:
        writing.set()
        assert go_on.wait(30)
        write(self, workspace_id, snapshot)

    with runtime.indexes._entries["acme"].saving:  # the first one written
        monkeypatch.setattr(Snapshots, "save", slow)
    saver = threading.Thread(target=runtime.indexes.save, args=("acme",))
    saver.start()
    try:
        assert writing.wait(30)
        # Seconds for a large index: diagnoses used to wait for it, the index's lock held.
        answered: list[Any] = []
        asker = threading.Thread(
            target=lambda: answered.append(runtime.indexes.diagnose("acme", as_of, DAY))
        )
        asker.start()
        asker.join(30)
        assert answered == [copied], "a diagnosis waited for the snapshot being written"
        world.order(300, at=3.1 * DAY, oms_after=None)
        late = [world.events[-1].to_json()]
        assert client.post(f"{URL}/events", json={"events": late}).status_code == 202
        runtime.settle()
        assert _answers(client)
    finally:
        go_on.set()
        saver.join(30)
    # The file holds the index as it was copied; the events after it are caught up at a
    # restart (as after any snapshot), and the next save writes them too.
    path = _snapshot_path(client)
    written = Snapshots(path.parent).load("acme")
    assert written is not None
    assert written.index.diagnose(STANDARD_TOPOLOGY, as_of=as_of, window_seconds=DAY) == copied
    monkeypatch.setattr(Snapshots, "save", write)
    runtime.indexes.save("acme")
    newer = Snapshots(path.parent).load("acme")
    assert newer is not None
    assert newer.watermark > written.watermark


def test_a_snapshot_whose_newest_moment_is_an_events_time_loads(tmp_path: Path) -> None:
    world = World()
    world.order(1, at=0)
    latest = Event.model_validate_json(world.events[-1].json_text()).time  # as the store reads it
    snapshots = Snapshots(tmp_path)
    snapshots.save("acme", Snapshot(world.index(), 1, "e1", latest, [], latest, latest))
    loaded = snapshots.load("acme")  # was ignored: it named pydantic-core's TzInfo
    assert loaded is not None
    assert loaded.latest == latest
