"""The data dir and the SQLite files are the service account's alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings


@pytest.fixture
def usual_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # what most systems run with: files 0644, dirs 0755
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_dir_0700_and_sqlite_files_0600(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "data"
    settings = Settings(data_dir=data, demo=False)  # SQLite in data_dir, generated secrets
    with TestClient(create_app(settings)) as client:
        token = (data / "admin_token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.put("/api/v1/workspaces/acme", json={}, headers=headers).status_code == 201
        assert _mode(data) == 0o700
        files = [p for p in data.iterdir() if p.name.startswith("arbiter.db")]
        assert {p.name for p in files} >= {"arbiter.db", "arbiter.db-wal"}
        for path in [*files, data / "admin_token", data / "secret_key"]:
            assert _mode(path) == 0o600, path


def test_existing_world_readable_database_is_tightened(tmp_path: Path, usual_umask: None) -> None:
    data = tmp_path / "data"
    data.mkdir()
    database = data / "arbiter.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    with TestClient(create_app(Settings(data_dir=data, admin_token="t", demo=False))):
        assert _mode(database) == 0o600
