"""Fixtures many tests share: the throwaway PostgreSQL server and the API client per backend."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings

ADMIN_TOKEN = "arb_admin_test_token"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def eventually(check: Callable[[], T | None], seconds: float, what: str, every: float = 0.25) -> T:
    """What ``check`` finds (anything true) once it finds it, asking every ``every`` seconds;
    an AssertionError naming ``what`` when it has found nothing within ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def _postgres_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return candidates[-1].parent if candidates else None


def _as_unprivileged(base: Path) -> list[str]:
    """PostgreSQL refuses to run as root: run it as an unprivileged account owning ``base``."""
    if os.geteuid() != 0:
        return []
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            account = pwd.getpwnam(name)
            shutil.chown(base, account.pw_uid, account.pw_gid)
            return ["runuser", "-u", name, "--"]
    raise RuntimeError("no unprivileged account to run PostgreSQL as")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real PostgreSQL server in a temp dir on a free loopback port, for the whole session."""
    bindir = _postgres_bindir()
    if bindir is None:
        message = "PostgreSQL server binaries (initdb, pg_ctl) not found"
        if os.environ.get("CI"):
            pytest.fail(message + ": CI must install them")
        pytest.skip(message)
    base = Path(tempfile.mkdtemp(prefix="arbiter-pg-"))
    runner = _as_unprivileged(base)
    data = base / "data"
    port = free_port()
    subprocess.run(
        [
            *runner,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "arbiter",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [
            *runner,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(base / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://arbiter@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*runner, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    dsn = server_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server_url}/{name}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


POSTGRES = pytest.param("postgres", marks=pytest.mark.postgres)
# A test of what takes PostgreSQL (other processes, leases): ``database_url`` on it alone.
only_postgres = pytest.mark.parametrize("database_url", [POSTGRES], indirect=True)


@pytest.fixture(params=["sqlite", POSTGRES])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'arbiter.db'}"
        return
    server: str = request.getfixturevalue("postgres_url")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture
def settings_factory(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "database_url": database_url,
            "admin_token": ADMIN_TOKEN,
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def client(settings_factory: Callable[..., Settings]) -> Iterator[TestClient]:
    """An admin-authenticated client of a fresh service, on each backend."""
    app = create_app(settings_factory())
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as test_client:
        yield test_client
