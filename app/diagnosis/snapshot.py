"""A workspace's diagnosis index saved in the data dir, so that a restart loads it and replays
only the events stored after it, instead of rebuilding the live period from the store.

At 50,000 orders a day the live period is some 600,000 events: rebuilt from the store (read,
parsed, reduced to facts, trimmed, every journey judged) the first diagnosis after a restart
took 40-100 s on the build machine; loaded from here it takes seconds (bench/README.md,
``lifetime.py``). The verdicts cached in the index come with it, so that diagnosis is warm.

A snapshot is a cache: whenever it cannot be trusted it is ignored and the index is rebuilt
from the store, which stays the only record. It is ignored when

- it was written by other code: a fingerprint of the ``graph`` package's sources (which define
  the index and how verdicts are judged) and of this format is part of it;
- it is damaged: a SHA-256 of its bytes ends it;
- it is of another store or of an earlier life of the workspace: it names the event stored under
  its high-water mark, which must be that row of the store now (:mod:`app.diagnosis.service`
  checks it);
- it is older than the live period.

The file is a series of pickle records, each a small piece of a large dict, list or set of
what the index holds (``WorkspaceIndex.__getstate__``: not what it derives from that), each
with a pickle memo of its own: writing or reading it never holds the interpreter for more than
a moment (app/gil.py), where one ``pickle.dumps`` of the index held it for seconds and one memo
for the whole file was rehashed as it grew, up to 0.8 s with the GIL held. What the index holds
in two places (a call in its journey and in its link's log) is one object again when read
(``WorkspaceIndex.__setstate__``). Only classes of ``graph`` and a few builtins may be named
by it, so a file put in the data dir can build nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import graph
from graph.calls import CallLogs
from graph.index import WorkspaceIndex
from graph.journeys import UnionFind

log = logging.getLogger("arbiter.diagnosis")

FORMAT = 2
MAGIC = b"arbiter diagnosis index\n"
CHUNK = 2000
"""Items of a dict, list or set per record."""
ABANDONED_SECONDS = 3600.0
"""A half-written file this old was left by a process killed while writing it."""

_OBJECTS: tuple[type, ...] = (WorkspaceIndex, UnionFind, CallLogs)
"""The classes whose attributes are written one by one (the large ones inside them chunked)."""

_BUILTINS = frozenset({"set", "frozenset", "float", "int", "complex", "tuple", "list", "dict"})


@dataclass(frozen=True)
class Snapshot:
    index: WorkspaceIndex
    watermark: int
    """The highest sequence number the index was caught up to."""
    watermark_event: str
    """The id of the event stored under ``watermark``: ties the snapshot to that store."""
    latest: datetime | None
    held_open: list[tuple[str, str]]
    trimmed: datetime
    """When the index was last trimmed to its live period."""
    saved: datetime


class Snapshots:
    """One file per workspace in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def path(self, workspace_id: str) -> Path:
        return self._directory / f"{workspace_id}.index"

    def save(self, workspace_id: str, snapshot: Snapshot) -> None:
        """Write it beside the current one, then put it in its place (a reader never sees half
        a file, whichever process writes)."""
        self._directory.mkdir(parents=True, exist_ok=True)
        target = self.path(workspace_id)
        self._forget_abandoned(target)
        part = target.with_name(f"{target.name}.{os.getpid()}.part")
        try:
            with part.open("wb") as file:
                file.write(MAGIC)
                digest = _Digesting(file)
                _write(digest, workspace_id, snapshot)
                file.write(digest.hash.digest())
                file.flush()
                os.fsync(file.fileno())
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)

    @staticmethod
    def _forget_abandoned(target: Path) -> None:
        """Remove the halves left by processes killed while writing (no write lasts an hour)."""
        for part in target.parent.glob(f"{target.name}.*.part"):
            with contextlib.suppress(FileNotFoundError):
                if time.time() - part.stat().st_mtime > ABANDONED_SECONDS:
                    part.unlink()

    def load(self, workspace_id: str) -> Snapshot | None:
        """The saved snapshot, or None when there is none or it cannot be used (logged)."""
        path = self.path(workspace_id)
        try:
            with path.open("rb") as file:
                return _read(file, os.fstat(file.fileno()).st_size, workspace_id)
        except FileNotFoundError:
            return None
        except Exception as exc:  # any damage: rebuilt from the store instead
            log.warning("index snapshot of %s ignored: %s", workspace_id, exc)
            return None

    def drop(self, workspace_id: str) -> None:
        self.path(workspace_id).unlink(missing_ok=True)


class Unusable(Exception):
    """The snapshot is not one this code may load."""


@cache
def fingerprint() -> str:
    """What the snapshot's contents depend on: this format, the interpreter's version and the
    sources of ``graph`` (the index's classes and every rule of judging)."""
    digest = hashlib.sha256(f"{FORMAT} {sys.version}".encode())
    for source in sorted(Path(graph.__file__).parent.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()


def _write(file: _Digesting, workspace_id: str, snapshot: Snapshot) -> None:
    pickler = pickle.Pickler(file, protocol=pickle.HIGHEST_PROTOCOL)
    header = {
        "fingerprint": fingerprint(),
        "workspace": workspace_id,
        "watermark": snapshot.watermark,
        "watermark_event": snapshot.watermark_event,
        "latest": _utc(snapshot.latest),
        "held_open": snapshot.held_open,
        "trimmed": _utc(snapshot.trimmed),
        "saved": _utc(snapshot.saved),
    }
    pickler.dump(header)
    pickler.clear_memo()
    for record in _records(snapshot.index):
        pickler.dump(record)
        # Each record shares only within itself (the index shares again what it shares as
        # it is read: WorkspaceIndex.__setstate__): a memo of every object written grew and
        # was rehashed with the GIL held, for up to 0.8 s at a time at 450,000 events.
        pickler.clear_memo()


def _utc(moment: datetime | None) -> datetime | None:
    """``moment`` in the standard library's UTC: an event's time is pydantic-core's own
    ``TzInfo``, which the reader refuses (it names no class outside ``graph`` and ``datetime``),
    so a snapshot written after a newer event came was ignored at every restart."""
    return None if moment is None else moment.astimezone(UTC)


def _read(file: BinaryIO, size: int, workspace_id: str) -> Snapshot:
    """The snapshot in ``file``, read as it is checked (not the whole file in memory first:
    that was a third more memory at the peak of a restart); used only if its checksum holds."""
    if size < len(MAGIC) + 32 or file.read(len(MAGIC)) != MAGIC:
        raise Unusable("not a snapshot")
    body = _Checked(file, size - len(MAGIC) - 32)

    def load() -> Any:
        # One unpickler a record, as each was written with a memo of its own (an unpickler's
        # memo cannot be cleared: it goes on numbering after the entries cleared).
        return _Unpickler(body).load()

    try:
        header = load()
        if header.get("fingerprint") != fingerprint():
            raise Unusable("written by another version")
        if header.get("workspace") != workspace_id:
            raise Unusable(f"of workspace {header.get('workspace')!r}")
        index = _decode(load)
    except Exception as exc:  # whatever a damaged record made of the unpickler, or a refusal
        if not _intact(body, file):
            raise Unusable("damaged (its checksum differs)") from exc
        if isinstance(exc, Unusable):
            raise
        raise Unusable(f"damaged ({exc!r})") from exc
    if body.left or not _intact(body, file):
        raise Unusable("damaged (its checksum differs)")
    if type(index) is not WorkspaceIndex:
        raise Unusable("holds no index")
    return Snapshot(
        index=index,
        watermark=header["watermark"],
        watermark_event=header["watermark_event"],
        latest=header["latest"],
        held_open=header["held_open"],
        trimmed=header["trimmed"],
        saved=header["saved"],
    )


def _intact(body: _Checked, file: BinaryIO) -> bool:
    """Whether the body, read to its end, has the checksum that follows it."""
    while body.read(1 << 20):
        pass
    return body.hash.digest() == file.read(32)


def _big(value: object) -> bool:
    kind = type(value)
    return kind in _OBJECTS or (kind in (dict, list, set) and len(value) > CHUNK)  # type: ignore[arg-type]


def _records(value: Any) -> Iterator[object]:
    """``value`` as records of :func:`_decode`: large containers in pieces of :data:`CHUNK`."""
    kind = type(value)
    if kind in _OBJECTS:
        yield ("object", kind)
        yield from _records(value.__getstate__())
    elif kind is dict and len(value) > CHUNK:
        yield from _pieces("dict", value.items(), len(value))
    elif kind is dict and any(_big(item) for item in value.values()):
        yield ("keyed", len(value))
        for key, item in value.items():
            yield key
            yield from _records(item)
    elif (kind is list or kind is set) and len(value) > CHUNK:
        yield from _pieces("list" if kind is list else "set", value, len(value))
    else:
        yield ("value", value)


def _pieces(tag: str, items: Iterable[object], count: int) -> Iterator[object]:
    """A large container's items in records of :data:`CHUNK`, taken as they are written (a
    list of all of a dict's items first was hundreds of thousands of tuples made at once,
    100-150 ms with the GIL held)."""
    yield (tag, count // CHUNK + 1)
    left = iter(items)
    for _ in range(count // CHUNK + 1):
        yield list(islice(left, CHUNK))


def _decode(load: Callable[[], Any]) -> Any:
    tag, argument = load()
    if tag == "value":
        return argument
    if tag == "object":
        if argument not in _OBJECTS:
            raise Unusable(f"names {argument!r}")
        made = object.__new__(argument)
        state = _decode(load)
        if hasattr(made, "__setstate__"):
            made.__setstate__(state)
        else:
            vars(made).update(state)
        return made
    if tag == "keyed":
        return {load(): _decode(load) for _ in range(argument)}
    if tag == "dict":
        found: dict[Any, Any] = {}
        for _ in range(argument):
            found.update(load())
        return found
    if tag in ("list", "set"):
        items: list[Any] = []
        for _ in range(argument):
            items.extend(load())
        return items if tag == "list" else set(items)
    raise Unusable(f"unknown record {tag!r}")


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = (
            module == "graph"
            or module.startswith("graph.")
            or (module == "builtins" and name in _BUILTINS)
            or (module == "datetime" and name in ("datetime", "timezone", "timedelta"))
        )
        if not allowed:
            raise Unusable(f"names {module}.{name}")
        return super().find_class(module, name)


class _Checked(io.RawIOBase):
    """The next ``left`` bytes of ``file``, hashed as they are read."""

    def __init__(self, file: BinaryIO, left: int) -> None:
        self._file = file
        self.left = left
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")[: self.left]
        count = self._file.readinto(view)  # type: ignore[attr-defined]
        self.hash.update(view[:count])
        self.left -= count
        return int(count)


class _Digesting:
    """A file that hashes what is written to it."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.hash = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        return self._file.write(data)
