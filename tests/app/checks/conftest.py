"""The sandbox storefront on a loop of its own thread, for tests that drive the service
synchronously (TestClient)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from sandbox.faults import FaultRegistry
from sandbox.storefront import Storefront


@pytest.fixture
def storefront_thread() -> Iterator[Storefront]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    shop = Storefront(FaultRegistry(seed=1))
    asyncio.run_coroutine_threadsafe(shop.start(), loop).result(10)
    try:
        yield shop
    finally:
        asyncio.run_coroutine_threadsafe(shop.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
