"""`arbiter serve` killed mid-stream: every batch answered 202 is there, none half there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.app.conftest import CONTRACT_TOPOLOGY
from tests.conftest import ADMIN_TOKEN, free_port

pytestmark = pytest.mark.e2e
BATCH = 200


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        ARBITER_DATA_DIR=str(data_dir),
        ARBITER_ADMIN_TOKEN=ADMIN_TOKEN,
        ARBITER_DEMO="false",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("arbiter serve did not start")


def _batch(n: int) -> list[dict[str, object]]:
    return [
        {
            "id": f"b{n}-e{i}",
            "time": "2026-11-25T10:00:00Z",
            "flow": "order",
            "kind": "seen",
            "system": "shop",
            "refs": {"shop": f"{n}-{i}"},
            "data": {"batch": n},
        }
        for i in range(BATCH)
    ]


def test_acknowledged_batches_survive_sigkill(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1/workspaces/dur"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    server = _start(tmp_path, port)
    acknowledged: list[int] = []
    stop = threading.Event()
    try:
        httpx.put(base, headers=headers).raise_for_status()
        httpx.put(f"{base}/topology", json=CONTRACT_TOPOLOGY, headers=headers).raise_for_status()

        def send() -> None:
            with httpx.Client(headers=headers, timeout=10) as client:
                n = 0
                while not stop.is_set():
                    try:
                        response = client.post(f"{base}/events", json={"events": _batch(n)})
                    except httpx.TransportError:
                        return
                    if response.status_code == 202:
                        acknowledged.append(n)
                    n += 1

        sender = threading.Thread(target=send)
        sender.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 15 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        sender.join(timeout=15)
    finally:
        server.kill()
        server.wait()

    assert len(acknowledged) >= 15
    server = _start(tmp_path, port)
    try:
        counts: dict[int, int] = {}
        cursor = None
        with httpx.Client(headers=headers, timeout=10) as client:
            while True:
                params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
                page = client.get(f"{base}/events", params=params).json()
                for event in page["events"]:
                    counts[event["data"]["batch"]] = counts.get(event["data"]["batch"], 0) + 1
                cursor = page["next_cursor"]
                if cursor is None:
                    break
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert all(counts.get(n) == BATCH for n in acknowledged), "an acknowledged batch is missing"
    assert all(count == BATCH for count in counts.values()), "a batch is half stored"
