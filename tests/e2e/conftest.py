"""Real processes on loopback: `arbiter serve` and the sandbox, talking over real sockets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_TOKEN, free_port

HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Arbiter:
    url: str

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=HEADERS, timeout=30)


@pytest.fixture(scope="module")
def arbiter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arbiter]:
    data_dir: Path = tmp_path_factory.mktemp("arbiter-e2e")
    port = free_port()
    env = dict(
        os.environ,
        ARBITER_DATA_DIR=str(data_dir),
        ARBITER_ADMIN_TOKEN=ADMIN_TOKEN,
        ARBITER_DEMO="false",
        ARBITER_LOG_LEVEL="warning",
        ARBITER_CLOCK_SKEW_SECONDS="2",
    )
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        yield Arbiter(f"http://127.0.0.1:{port}")
    finally:
        stop(process)
        log.close()


@dataclass
class Sandbox:
    base_port: int
    process: subprocess.Popen[bytes]

    @property
    def control(self) -> str:
        return f"http://127.0.0.1:{self.base_port + 4}"

    def inject(self, kind: str, target: str, ratio: float = 1.0, **params: Any) -> None:
        response = httpx.post(
            f"{self.control}/faults",
            json={"kind": kind, "target": target, "ratio": ratio, **params},
        )
        assert response.status_code == 201, response.text


def start_sandbox(
    arbiter: Arbiter, workspace: str, token: str, webhook_secret: str, *, base_port: int
) -> Sandbox:
    base = base_port
    env = dict(os.environ, SANDBOX_ARBITER_TOKEN=token, SANDBOX_WEBHOOK_SECRET=webhook_secret)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--base-port",
            str(base),
            "--arbiter-url",
            arbiter.url,
            "--workspace",
            workspace,
            "--webhook-url",
            f"{arbiter.url}/webhooks/{workspace}/shop",
            "--order-interval",
            "0.4",
            "--stock-interval",
            "1.5",
            "--integration-interval",
            "0.5",
            "--seed",
            "7",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{base + 4}/healthz", process)
    return Sandbox(base, process)


def configure_workspace(
    arbiter: Arbiter, workspace: str, base: int, sla: dict[str, float]
) -> tuple[str, str]:
    """Workspace, short-SLA demo topology, connections to the sandbox; (token, webhook secret)."""
    from app.demo import sandbox_connections
    from sandbox.topology import demo_topology

    secret = f"whsec-{workspace}"
    connections = sandbox_connections(base, webhook_secret=secret, poll_interval_seconds=1)
    with arbiter.api() as api:
        api.put(f"/workspaces/{workspace}").raise_for_status()
        api.put(
            f"/workspaces/{workspace}/topology", json=demo_topology(sla_seconds=sla)
        ).raise_for_status()
        for system, body in connections.items():
            api.put(
                f"/workspaces/{workspace}/systems/{system}/connection",
                json=body,
            ).raise_for_status()
        token = api.post(f"/workspaces/{workspace}/tokens", json={"name": "sandbox"}).json()[
            "token"
        ]
    return token, secret
