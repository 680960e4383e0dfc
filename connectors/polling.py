"""The poll round every connector shares: streams, cursors and the normalized event builders.

A connector's poll is a few independent *streams* (orders, stock, a journal), each with its own
part of the cursor. A stream saves its cursor after every page it has turned into events, so a
failure half-way keeps what was read and the next round resumes there: no gap, no duplicate.
An :class:`AuthError` or :class:`RateLimited` stops the whole round (the account itself is
refused); any other failure is noted and the other streams still run. Only when every stream
failed is the first failure raised.

Order cursors are *keysets*: the newest modification time read and the keys already emitted at
that very time. Each request asks for records modified at or after that time, sorted by it, so
records written in the same second as the last poll are neither missed nor emitted twice.

>>> from datetime import datetime, UTC
>>> ks = Keyset(since=datetime(2026, 11, 25, 10, tzinfo=UTC), edge=set())
>>> ks.take([("7", datetime(2026, 11, 25, 10, tzinfo=UTC))])
['7']
>>> ks.take([("7", datetime(2026, 11, 25, 10, tzinfo=UTC))])
[]
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import ssl
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx
from pydantic import ValidationError

from connectors.base import (
    AuthError,
    CheckResult,
    ConnectorError,
    PollResult,
    RateLimited,
    Sleep,
    utc_now,
)
from connectors.http import HttpApi, RetryPolicy, TokenBucket
from graph.model import Event

HEALTH_EVERY = timedelta(minutes=5)
"""How often a poll also reads the system's own health (:meth:`PollingConnector.health`)."""

MAX_PAGES_PER_ROUND = 50
"""Pages one stream reads in one round; the rest waits for the next round (cursor saved)."""


def _failure_kind(exc: ConnectorError) -> str:
    cause = exc.__cause__
    if isinstance(exc, RateLimited):
        wait = f"; retry after {exc.retry_after:g} s" if exc.retry_after is not None else ""
        return f"rate limited{wait}"
    if isinstance(exc, AuthError):
        if exc.status == 403:
            return "permission missing"
        return "credentials refused"
    if cause is not None and _is_tls(cause):
        return "TLS failed: the server's certificate or TLS setup was refused"
    if isinstance(cause, httpx.TimeoutException):
        return "unreachable: timed out"
    if isinstance(cause, httpx.TransportError):
        return "unreachable: no connection"
    if exc.status == 404:
        return "not found (wrong address, store code or id?)"
    if exc.status is not None and exc.status >= 500:
        return f"the system failed (HTTP {exc.status})"
    return "unexpected answer"


def _is_tls(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def event_id(*parts: object) -> str:
    """Deterministic id from parts; hashed when longer than the contract's 200 characters."""
    raw = ":".join(str(p) for p in parts)
    if len(raw) <= 200:
        return raw
    return raw[:130] + ":" + hashlib.sha256(raw.encode()).hexdigest()


def money(value: Any) -> str | None:
    """A vendor amount as a two-decimal string ("199.00"), None when it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return str(amount.quantize(Decimal("0.01")))


def whole(value: float) -> float:
    """2.0 as 2: quantities compare and read as the vendors wrote them."""
    return int(value) if float(value).is_integer() else value


def number(value: Any) -> float | None:
    """A vendor's quantity as a number (2.0 as 2), None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        found = float(value)
    except (TypeError, ValueError):
        return None
    return whole(found) if math.isfinite(found) else None


def add_sku(skus: dict[str, float], sku: Any, quantity: Any) -> None:
    """Add one line's quantity to an order's SKU map (a SKU on two lines counts once, summed);
    a line without a SKU or a numeric quantity is left out."""
    if not sku:
        return
    try:
        amount = float(quantity)
    except (TypeError, ValueError):
        return
    skus[str(sku)] = skus.get(str(sku), 0.0) + amount


def parse_time(value: Any) -> datetime | None:
    """Vendor timestamps as aware UTC: ISO 8601, "YYYY-MM-DD HH:MM:SS" (UTC) or epoch seconds."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def sql_time(moment: datetime) -> str:
    """The "YYYY-MM-DD HH:MM:SS" UTC form Magento and Odoo filter on."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class Keyset:
    """Position in a stream ordered by modification time (see the module docstring)."""

    since: datetime
    edge: set[str]

    @classmethod
    def from_cursor(cls, data: Mapping[str, Any] | None, default_since: datetime) -> Keyset:
        since = parse_time((data or {}).get("since")) or default_since
        return cls(since=since, edge={str(k) for k in (data or {}).get("edge", [])})

    def to_cursor(self) -> dict[str, Any]:
        return {"since": iso(self.since), "edge": sorted(self.edge)}

    def take(self, records: Iterable[tuple[str, datetime]]) -> list[str]:
        """Keys not emitted before, in input order; the keyset moves past all of them."""
        fresh = [
            (key, moment)
            for key, moment in records
            if moment > self.since or (moment == self.since and key not in self.edge)
        ]
        for key, moment in fresh:
            if moment > self.since:
                self.since, self.edge = moment, {key}
            elif moment == self.since:
                self.edge.add(key)
        return [key for key, _ in fresh]

    def take_records(
        self,
        records: Iterable[Any],
        key: str,
        moment_of: Callable[[Any], datetime | None],
        undated: Callable[[Any], str],
        notes: list[str],
    ) -> list[tuple[str, Any]]:
        """The records not emitted before, with their ``key`` field as text, as :meth:`take`.

        ``moment_of`` dates a record; one it cannot date is skipped with the note
        ``undated(record)``.
        """
        dated: list[tuple[str, datetime]] = []
        by_key: dict[str, Any] = {}
        for record in records:
            moment = moment_of(record)
            if moment is None:
                notes.append(undated(record))
                continue
            name = str(record.get(key))
            by_key[name] = record
            dated.append((name, moment))
        return [(name, by_key[name]) for name in self.take(dated)]


@dataclass
class StreamState:
    """What one stream produced this round; its ``cursor`` is saved after every page."""

    cursor: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    """What the user must hear about (an answer the connector cannot read), not routine notes."""
    health: dict[str, Any] = field(default_factory=dict)
    """The system's own health report (:attr:`connectors.base.PollResult.health`)."""


Stream = Callable[[StreamState], Awaitable[None]]


@dataclass(frozen=True)
class Dating:
    """How a stream's records are keyed and dated, for :meth:`Keyset.take_records`."""

    key: str
    moment_of: Callable[[Any], datetime | None]
    undated: Callable[[Any], str]


async def read_pages(
    state: StreamState,
    since: datetime,
    read_page: Callable[[datetime, int], Awaitable[tuple[list[Any], bool]]],
    dating: Dating,
    emit: Callable[[list[tuple[str, Any]]], Awaitable[None]],
) -> None:
    """Reads the orders modified at or after the cursor's time (``since`` for a new cursor),
    page by page, and saves the cursor after each page.

    ``read_page(since, n)`` answers the ``n``-th page (from 0) of the records modified at or
    after ``since`` in that order, and whether more follow; ``emit`` gets the records of a page
    not emitted before. When a page moved the keyset's time, the next read starts again at page
    0 from the new time (the pages behind it have shifted); at most :data:`MAX_PAGES_PER_ROUND`
    pages a round, the rest waits for the next one.
    """
    keyset = Keyset.from_cursor(state.cursor, since)
    page = 0
    for _ in range(MAX_PAGES_PER_ROUND):
        before = keyset.since
        records, more = await read_page(before, page)
        await emit(
            keyset.take_records(records, dating.key, dating.moment_of, dating.undated, state.notes)
        )
        state.cursor = keyset.to_cursor()
        if not more:
            return
        page = page + 1 if keyset.since == before else 0
    state.notes.append("orders: more pages remain; the next round continues")


class EventBuilder:
    """Builds the normalized events of one system: its orders and its stock levels."""

    def __init__(
        self,
        *,
        system_id: str,
        upstream: str | None = None,
        order_flow: str = "order",
        stock_flow: str = "stock",
    ):
        self.system_id = system_id
        self.upstream = upstream
        self.order_flow = order_flow
        self.stock_flow = stock_flow

    def order_event(
        self,
        *,
        number: str,
        modified: datetime,
        state: str | None,
        total: Any,
        currency: Any,
        lines: int,
        skus: Mapping[str, float] | None = None,
        upstream_ref: Any = None,
        extra: Mapping[str, Any] | None = None,
        id_parts: tuple[object, ...] = (),
        refs: Mapping[str, str] | None = None,
    ) -> Event:
        """A ``seen`` order in the order flow; raises ValueError when the record is unusable.

        The comparable facts (CONTRACT.md's ``data`` row): ``total`` is the gross total with
        shipping and fees, ``lines`` counts product lines only, ``skus`` maps SKU to quantity.
        ``refs`` adds identifiers in other namespaces (a marketplace's order id, say).
        """
        all_refs = {self.system_id: str(number)}
        if self.upstream and upstream_ref not in (None, "", 0, "0", False):
            all_refs[self.upstream] = str(upstream_ref)
        all_refs.update(refs or {})
        data: dict[str, Any] = {"lines": lines}
        if (amount := money(total)) is not None:
            data["total"] = amount
        if currency:
            data["currency"] = str(currency).upper()
        if skus:
            data["skus"] = {sku: whole(quantity) for sku, quantity in sorted(skus.items())}
        data.update(extra or {})
        parts = id_parts or (iso(modified),)
        return self._event(
            id=event_id(self.system_id, "order", number, *parts),
            time=modified,
            flow=self.order_flow,
            kind="seen",
            system=self.system_id,
            refs=all_refs,
            state=None if state is None else str(state),
            data=data,
        )

    def stock_event(
        self,
        *,
        sku: str,
        quantity: float | None,
        at: datetime,
        state: str | None = None,
        extra: Mapping[str, Any] | None = None,
        id_suffix: str | None = None,
    ) -> Event:
        return self._event(
            id=event_id(self.system_id, "stock", sku, id_suffix or iso(at)),
            time=at,
            flow=self.stock_flow,
            kind="seen",
            system=self.system_id,
            refs={"sku": sku},
            quantity=quantity,
            state=state,
            data=dict(extra) if extra else None,
        )

    @staticmethod
    def _event(**fields: Any) -> Event:
        try:
            return Event.model_validate(fields)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from exc


class PollingConnector(EventBuilder):
    """What the four connectors share: construction, the poll round, test(), event builders."""

    kind: ClassVar[str] = ""

    def __init__(
        self,
        *,
        system_id: str,
        base_url: str,
        credentials: Mapping[str, str],
        client: httpx.AsyncClient,
        upstream: str | None = None,
        order_flow: str = "order",
        stock_flow: str = "stock",
        clock: Callable[[], datetime] = utc_now,
        lookback: timedelta = timedelta(hours=24),
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: TokenBucket | None = None,
    ):
        super().__init__(
            system_id=system_id, upstream=upstream, order_flow=order_flow, stock_flow=stock_flow
        )
        self.base_url = base_url.rstrip("/")
        self.credentials = dict(credentials)
        self.clock = clock
        self.lookback = lookback
        self.api = HttpApi(
            client=client,
            system_id=system_id,
            base_url=self.base_url,
            clock=clock,
            retry=retry or RetryPolicy(),
            sleep=sleep,
            limiter=limiter,
        )

    # -- to be provided by each connector ---------------------------------------------------

    def streams(self) -> dict[str, Stream]:
        raise NotImplementedError

    async def checks(self) -> list[tuple[str, Callable[[], Awaitable[str]]]]:
        """(name, probe) pairs for test(); a probe returns a detail or raises."""
        raise NotImplementedError

    async def health(self, state: StreamState) -> None:
        """The system's own health as its API reports it, into ``state.health`` (and into
        ``state.notes`` what the user must hear). Read after a round that answered, every
        :data:`HEALTH_EVERY` at most. Not a stream: a health report read while orders and stock
        both fail would hide that the system is unreachable, and its failures are notes, never
        the round's error. None by default."""

    # -- the round ----------------------------------------------------------------------------

    async def poll(self, cursor: dict[str, Any] | None) -> PollResult:
        previous = dict(cursor or {})
        new_cursor: dict[str, Any] = dict(previous)
        events: list[Event] = []
        notes: list[str] = []
        warnings: list[str] = []
        health: dict[str, Any] = {}
        failures: list[ConnectorError] = []
        self.api.drain()
        streams = self.streams()
        for name, stream in streams.items():
            state = StreamState(cursor=dict(previous.get(name) or {}))
            try:
                await stream(state)
            except (AuthError, RateLimited) as exc:
                exc.events = [*events, *state.events, *self.api.drain()]
                raise
            except ConnectorError as exc:
                failures.append(exc)
                notes.append(f"{name}: {type(exc).__name__}: {exc.message}")
            events.extend(state.events)
            notes.extend(state.notes)
            warnings.extend(state.warnings)
            health.update(state.health)
            if state.cursor:
                new_cursor[name] = state.cursor
        events.extend(self.api.drain())
        if streams and len(failures) == len(streams):
            failures[0].events = events
            raise failures[0]
        result = PollResult(
            events=events,
            cursor=new_cursor,
            rate_limit=self.api.rate_limit(),
            notes=notes,
            warnings=warnings,
            health=health,
        )
        if type(self).health is not PollingConnector.health:
            await self._read_health(previous, result)
        return result

    async def _read_health(self, previous: Mapping[str, Any], result: PollResult) -> None:
        state = StreamState(cursor=dict(previous.get("health") or {}))
        now = self.clock()
        last = parse_time(state.cursor.get("checked_at"))
        if last is not None and now - last < HEALTH_EVERY:
            return
        state.cursor = {"checked_at": now.isoformat()}
        try:
            await self.health(state)
        except (AuthError, RateLimited) as exc:  # the round's events are still stored
            exc.events = [*result.events, *self.api.drain()]
            raise
        result.events.extend(self.api.drain())
        result.notes.extend(state.notes)
        result.warnings.extend(state.warnings)
        result.health.update(state.health)
        result.cursor["health"] = state.cursor

    async def test(self) -> list[CheckResult]:
        results: list[CheckResult] = []
        self.api.recording = False
        try:
            for name, probe in await self.checks():
                try:
                    detail = await probe()
                except ConnectorError as exc:
                    results.append(CheckResult(name, False, self.explain(exc)))
                except Exception as exc:  # a probe must answer, whatever the server sent
                    results.append(CheckResult(name, False, f"unexpected {type(exc).__name__}"))
                else:
                    results.append(CheckResult(name, True, detail))
        finally:
            self.api.recording = True
        return results

    def explain(self, exc: ConnectorError) -> str:
        """What failed, in the words a merchant acts on, then the vendor's own answer."""
        what = self.hint(exc) or _failure_kind(exc)
        return f"{what} — {type(exc).__name__}: {exc}"

    def hint(self, exc: ConnectorError) -> str | None:
        """A connector's own reading of a failure (auth scheme, store code...), or None."""
        return None

    # -- helpers for the connectors ------------------------------------------------------------

    def first_since(self) -> datetime:
        return self.clock() - self.lookback

    def stock_changes(
        self,
        state: StreamState,
        levels: Mapping[str, tuple[float | None, str | None, dict[str, Any]]],
        at: datetime,
    ) -> None:
        """Emit a stock event for each SKU whose level changed since the last round.

        The cursor keeps the last level of each SKU, so a restart does not re-emit unchanged
        stock, and the first round emits every SKU once as the baseline.
        """
        known: dict[str, Any] = dict(state.cursor.get("levels") or {})
        for sku, (quantity, stock_state, extra) in sorted(levels.items()):
            level = [quantity, stock_state]
            if known.get(sku) == level:
                continue
            try:
                state.events.append(
                    self.stock_event(
                        sku=sku, quantity=quantity, at=at, state=stock_state, extra=extra
                    )
                )
            except ValueError as exc:
                state.notes.append(f"stock: SKU {sku!r} skipped: {exc}")
                continue
            known[sku] = level
        state.cursor = {"levels": known, "at": iso(at)}
