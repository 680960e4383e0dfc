"""The sandbox's entry points: the CLI, ``serve`` printing its ports, the demo topology, and
staying a separate program."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

import pytest

from graph.model import Topology
from sandbox import SandboxConfig, demo_topology, serve
from sandbox.__main__ import parse_args
from tests.sandbox.conftest import quiet_config

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"


def test_help_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0
    assert "--base-port" in done.stdout


def test_arguments_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_ARBITER_TOKEN", "tok")
    monkeypatch.setenv("SANDBOX_WEBHOOK_SECRET", "sec")
    config = parse_args(
        ["--base-port", "0", "--arbiter-url", "http://127.0.0.1:8000", "--report-seen"]
    )
    assert config.base_port == 0
    assert config.arbiter_token == "tok"
    assert config.webhook_secret == "sec"
    assert config.report_seen is True


def test_demo_topology_is_contract_valid_and_sla_overridable() -> None:
    default = Topology.model_validate(demo_topology())
    assert [
        (link.flow, link.from_, link.to, link.initiator, link.owner, link.sla_seconds)
        for link in default.links
    ] == [
        ("order", "shop", "oms", "to", "BaseLinker", 600),
        ("order", "oms", "erp", "from", "ERP partner", 900),
        ("stock", "erp", "oms", "to", "BaseLinker", 1800),
        ("stock", "oms", "shop", "from", "BaseLinker", 900),
    ]
    assert [(s.id, s.kind, s.vendor) for s in default.systems] == [
        ("shop", "woocommerce", "Shop agency"),
        ("oms", "baselinker", "BaseLinker"),
        ("erp", "odoo", "ERP partner"),
    ]
    short = demo_topology(sla_seconds=60)
    assert {link["sla_seconds"] for link in short["links"]} == {60.0}
    mixed = demo_topology(sla_seconds={"order": 60, "stock:oms>shop": 30})
    assert [link["sla_seconds"] for link in mixed["links"]] == [60.0, 60.0, 1800.0, 30.0]


def test_sandbox_imports_nothing_of_arbiter() -> None:
    for path in SANDBOX.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in {"app", "connectors", "graph"}, (
                    f"{path.name} imports {name}"
                )


@pytest.mark.asyncio
async def test_serve_prints_ports_and_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(serve(quiet_config()))
    printed = ""
    for _ in range(250):
        await asyncio.sleep(0.02)
        printed += capsys.readouterr().out
        if "control" in printed or task.done():
            break
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert "http://127.0.0.1:" in printed
    assert "ck_sandbox" in printed
    assert "X-BLToken 1-23-SANDBOX" in printed
    assert "control" in printed


def test_only_loopback() -> None:
    from sandbox import Sandbox

    with pytest.raises(ValueError, match="loopback"):
        Sandbox(SandboxConfig(host="0.0.0.0"))
