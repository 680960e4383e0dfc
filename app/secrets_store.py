"""Secrets the service generates for itself at first start and keeps in the data dir."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from app.db.engine import private_dir


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The secret in ``path``, written there (mode 0600) by the first process that needs it."""
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    # O_EXCL: two processes starting together must not write two different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    secret = make()
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret
