"""compose.yaml (PostgreSQL, two API processes, two workers, the sandbox) is well formed and
its commands are ones the programs accept; `docker compose` itself cannot run here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from app.cli import cli
from sandbox.__main__ import parse_args

COMPOSE = Path(__file__).parents[1] / "compose.yaml"


@pytest.fixture(scope="module")
def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = yaml.safe_load(COMPOSE.read_text())["services"]
    return found


def test_postgres_two_apis_two_workers_and_the_sandbox(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) >= {"postgres", "api-1", "api-2", "worker-1", "worker-2", "sandbox"}
    assert services["postgres"]["image"].startswith("postgres:15")
    apis = [services[name] for name in ("api-1", "api-2")]
    workers = [services[name] for name in ("worker-1", "worker-2")]
    assert [api["command"][:2] for api in apis] == [["arbiter", "serve"]] * 2
    assert all(api["environment"]["ARBITER_ROLE"] == "api" for api in apis)
    assert [w["command"] for w in workers] == [["arbiter", "worker"]] * 2
    urls = {s["environment"]["ARBITER_DATABASE_URL"] for s in apis + workers}
    assert len(urls) == 1
    assert urls.pop().startswith("postgresql+psycopg://arbiter:arbiter@127.0.0.1:5432/")
    # One data dir (the generated secrets key) and one network namespace for all.
    for service in (*apis, *workers, services["sandbox"]):
        assert service["volumes"] == ["arbiter-data:/data"]
        assert service["network_mode"] == "service:postgres"
        assert service["depends_on"]
    ports = {p.rsplit(":", 1)[-1] for p in services["postgres"]["ports"]}
    assert ports == {api["command"][-1] for api in apis}


def test_the_commands_are_accepted(services: dict[str, dict[str, Any]]) -> None:
    runner = CliRunner()
    for name in ("api-1", "worker-1"):
        command = services[name]["command"]
        result = runner.invoke(cli, [*command[1:], "--help"])
        assert result.exit_code == 0, result.output
    sandbox = parse_args(services["sandbox"]["command"][2:])
    assert sandbox.base_port == 8100
    assert sandbox.webhook_url == "http://127.0.0.1:8001/webhooks/demo/shop"
    setup = services["setup"]["command"]
    assert setup[:2] == ["python", "-c"]
    compile(setup[2], "compose setup", "exec")
