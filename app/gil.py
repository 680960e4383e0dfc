"""How the service's threads share the interpreter, so the event loop keeps answering while
other threads work (a cold diagnosis, the writer, the index feeder).

**The switch interval.** A thread that wants the GIL waits until the holder releases it, at most
``sys.getswitchinterval()`` (5 ms by default). The event loop needs it back several times per
request (after each select, receive, send and wake-up), so next to one busy thread a request
took 20-30 ms at the median instead of 3-8 (bench/responsiveness.py). :func:`configure` sets
it to :data:`SWITCH_INTERVAL`.

**The collector.** Building a workspace's diagnosis index from the store allocates millions of
objects that live as long as the process. While they are built, every full collection walks all
of them; each took 90-300 ms at 100,000 events (measured with gc.callbacks while
bench/responsiveness.py ran), and held the GIL that long: the event loop answered nothing
meanwhile (``/healthz`` and webhook acks waited). So the collector is held off while such a
structure is built, and what is alive then is moved to the permanent generation
(:func:`gc.freeze`): later collections no longer walk it. Objects there are still freed by
reference counting when dropped; only reference cycles among them would stay (the index makes
none: checked in tests/app/test_gil.py).

The youngest generation is collected every :data:`YOUNG_THRESHOLD` allocations instead of
CPython's 700: a batch of events or a group of webhook deliveries makes thousands of objects
that live on in the index, and each young collection walked them again (about 2.5 µs of CPU an
event less through the events API, bench/README.md, ``ingest.py``). The older generations keep
their default ratios.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL = 0.0005
"""Seconds a thread holds the GIL while another waits for it."""

YOUNG_THRESHOLD = 10_000
"""Allocations (less deallocations) of container objects between young collections."""


def configure() -> None:
    """Set the process's switch interval and the young generation's threshold, and freeze what
    is alive once the first app is made (modules, routes, schemas: hundreds of thousands of
    objects that every full collection walked again, 50-100 ms each, while a burst of webhooks
    made collections frequent)."""
    global _started
    sys.setswitchinterval(SWITCH_INTERVAL)
    _young, *older = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *older)
    if not _started:
        _started = True
        gc.freeze()


_started = False


_lock = threading.Lock()
_holders = 0
_was_enabled = True


@contextmanager
def held_then_frozen() -> Iterator[None]:
    """No automatic collection inside (in any thread: the collector is process-wide); at the
    end, everything alive is frozen, and the collector resumes once no one holds it."""
    with _held(freeze=True):
        yield


@contextmanager
def held() -> Iterator[None]:
    """No automatic collection inside, for a pass that makes many short-lived objects and no
    cycles (writing an index's snapshot from its copy: each full collection walked the copy's
    hundreds of thousands of lists, 100-150 ms with the GIL held)."""
    with _held(freeze=False):
        yield


@contextmanager
def _held(*, freeze: bool) -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if freeze:
                gc.freeze()
            if _holders == 0 and _was_enabled:
                gc.enable()


def release(held: list[object]) -> None:
    """Drop the large structures in ``held`` (which the caller hands over: it must keep no
    other reference to them) in small pieces, passing the GIL on between them.

    Dropping the last reference to an index of a million events frees millions of objects in
    one stretch of C with the GIL held: 1.1 s at 1M events, when a new workspace index replaced
    the untrimmed one it was cut from (py-spy, bench/responsiveness.py). Here dicts, lists and
    sets, and the attributes of plain objects, are emptied one item at a time, each only when
    nothing else holds it (a reference count of this walk's own two): what the new index
    shares with the old one is left whole.
    """
    stack = held
    while stack:
        item = stack.pop()
        if sys.getrefcount(item) > 2:  # held elsewhere (the local and this call): not ours
            continue
        kind = type(item)
        if kind is dict:
            while item:
                stack.append(item.popitem()[1])  # type: ignore[attr-defined]
        elif kind is list or kind is set:
            while item:
                stack.append(item.pop())  # type: ignore[attr-defined]
        elif hasattr(item, "__dict__") and not isinstance(item, type):
            attributes = vars(item)
            stack.extend(attributes.values())
            attributes.clear()
