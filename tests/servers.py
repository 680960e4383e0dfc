"""Real servers on free loopback ports for the tests that need a socket (a browser, an OAuth
client, an OTLP exporter, the sandbox's integrations): uvicorn in a thread or a task."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import uvicorn


class _QuietServer(uvicorn.Server):
    """A server that leaves the signal handlers alone: the test runner owns them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bound() -> tuple[socket.socket, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def serve_in_thread(app: Any, *, lifespan: str = "auto") -> Iterator[str]:
    """``app`` served by uvicorn in a thread for the block; yields its base URL."""
    sock, url = _bound()
    server = _QuietServer(uvicorn.Config(app, lifespan=lifespan, ws="none", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


@contextlib.asynccontextmanager
async def serve_app(app: Any) -> AsyncIterator[str]:
    """``app`` served by uvicorn on the running event loop for the block (no lifespan);
    yields its base URL."""
    sock, url = _bound()
    server = _QuietServer(uvicorn.Config(app, lifespan="off", ws="none", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()
