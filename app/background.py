"""Helpers for the background services that run in the server's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Hashable
from contextlib import asynccontextmanager
from typing import Any, Generic, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


async def in_thread(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread`` that, when cancelled, waits for the thread to finish first.

    A thread cannot be stopped: a service cancelled at shutdown must not let the store close
    under a thread that is still using one of its connections.
    """
    work = asyncio.ensure_future(asyncio.to_thread(function, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait({work})
        raise


@asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """Run ``work`` as a task while the context is open; cancel it and wait when it closes."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class Jobs(Generic[K]):
    """The tasks a schedule runs, at most one per key (a connection's poll, a check's run).

    ``async with Jobs() as jobs``: :meth:`start` one for a key, ``key in jobs`` while it
    runs (finished ones are dropped as they end); when the context closes, every task still
    running is cancelled and waited for.
    """

    def __init__(self) -> None:
        self._tasks: dict[K, asyncio.Task[Any]] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._tasks

    def start(self, key: K, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = self._tasks[key] = asyncio.create_task(work)
        task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _forget(self, key: K, task: asyncio.Task[Any]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def __aenter__(self) -> Jobs[K]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
