"""Build every workspace's index at start, so the first diagnosis after a restart is warm."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from app.background import in_thread, running
from app.exceptions import NOTHING_TO_JUDGE
from app.runtime import Runtime
from app.workspaces.service import list_workspaces

log = logging.getLogger("arbiter.diagnosis")


def warm(runtime: Runtime) -> int:
    """Load and diagnose each workspace once; how many were warmed."""
    with runtime.engine.connect() as connection:
        workspaces = [w.id for w in list_workspaces(connection)]
    warmed = 0
    for workspace_id in workspaces:
        try:
            runtime.indexes.diagnose(workspace_id, datetime.now(UTC), 86400)
        except NOTHING_TO_JUDGE:  # no topology yet, or deleted meanwhile: nothing to warm
            continue
        except Exception:  # one workspace's failure must not leave the others cold
            log.exception("warming the diagnosis index of workspace %s failed", workspace_id)
            continue
        warmed += 1
    return warmed


@asynccontextmanager
async def index_warmer(runtime: Runtime) -> AsyncIterator[None]:
    """Background service: warm the indexes once, after the server is up; at shutdown, save
    each one's snapshot (app.diagnosis.snapshot)."""

    async def run() -> None:
        try:
            count = await in_thread(warm, runtime)
            log.info("warmed the diagnosis index of %d workspaces", count)
        except Exception:
            log.exception("warming the diagnosis indexes failed")

    async with running(run(), "arbiter-index-warmer"):
        yield
    # The next start loads these instead of rebuilding the live period from the store.
    try:
        await in_thread(runtime.indexes.save_all)
    except Exception:
        log.exception("saving the diagnosis index snapshots failed")
