"""Journeys: one entity followed across systems, by identity resolution over event refs.

No system knows every identifier of an order: the shop knows ``shop:100045``, the OMS knows
``oms:7789`` *and* ``shop:100045``, the ERP knows ``erp:ZK/123/2026`` and ``oms:7789``. Every
(namespace, value) pair that appears together in one event names the same entity, so a
union-find over those pairs joins the three into one journey although no event carries all of
them. Stock works the same way, keyed by ``sku`` (and whatever product ids the events carry).

Identity is treated as timeless: a pair joined by an event later than a diagnosis' ``as_of``
still joins, while only the facts at or before ``as_of`` are judged. Ids do not change meaning
over time, and replaying history should not split an order that every later event agrees on.

The facts kept per journey are compact tuples (:class:`Seen`, :class:`Call`) holding only what
verdicts need; the full event JSON lives once, in the index, for traces.

>>> uf = UnionFind()
>>> a, b, c = uf.key("shop", "100045"), uf.key("oms", "7789"), uf.key("erp", "ZK/123/2026")
>>> _ = uf.union(a, b); _ = uf.union(b, c)
>>> uf.find(a) == uf.find(c)
True
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, NamedTuple


class Seen(NamedTuple):
    """An entity observed in ``system`` at ``time`` (epoch seconds), with its state there.

    ``event`` is the event's id: facts sort by ``(time, event)``, the same whatever order the
    events were delivered in.
    """

    time: float
    event: str
    flow: str
    system: str
    state: str | None
    quantity: float | int | None
    data: tuple[tuple[str, str], ...] | None


class Call(NamedTuple):
    """``caller`` tried to hand something to ``target``; ``bare`` when the call named no entity."""

    time: float
    event: str
    flow: str
    caller: str
    target: str
    status: int | None
    duration_ms: float
    error: str | None
    bare: bool

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def unanswered(self) -> bool:
        """No usable answer came: a timeout, a connection error or a 5xx."""
        return self.status is None or self.status >= 500


Fact = Seen | Call


COMPARED = ("total", "lines", "skus")
"""The facts of ``data`` compared across systems (CONTRACT.md); ``currency`` qualifies
``total``; every other key is kept and shown, never compared."""

MINOR_UNIT_EXPONENT = {
    "BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "LYD": 3,
    "OMR": 3, "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
}  # fmt: skip
"""ISO 4217 currencies whose minor unit is not a hundredth (every other one has two digits)."""


def canonical_data(data: dict[str, Any] | None) -> tuple[tuple[str, str], ...] | None:
    """The comparable scalar facts of ``data``, numbers in one canonical spelling.

    Systems spell the same total as ``"199.00"``, ``199`` or ``199.0``; all compare equal,
    however large.
    ``skus`` (sku → quantity) becomes one sorted ``sku=quantity`` list; other nested values
    are left out: no two systems nest their documents alike.

    >>> canonical_data({"total": "199.00", "lines": 2, "currency": "pln", "items": [1],
    ...                 "skus": {"B-2": 1.0, "A-1": "2"}})
    (('currency', 'PLN'), ('lines', '2'), ('skus', 'A-1=2, B-2=1'), ('total', '199'))
    >>> canonical_data({"total": "1e30", "lines": 1.50})
    (('lines', '1.5'), ('total', '1000000000000000000000000000000'))
    """
    if not data:
        return None
    items: list[tuple[str, str]] = []
    for key, value in data.items():
        if key == "skus" and isinstance(value, dict):
            pairs = sorted(
                (str(sku), _canonical_scalar(qty))
                for sku, qty in value.items()
                if isinstance(qty, int | float | str) and not isinstance(qty, bool)
            )
            items.append((key, ", ".join(f"{sku}={qty}" for sku, qty in pairs)))
        elif key == "currency" and isinstance(value, str):
            items.append((key, value.strip().upper()))
        elif isinstance(value, bool) or value is None:
            items.append((key, str(value).lower()))
        elif isinstance(value, int | float | str):
            items.append((key, _canonical_scalar(value)))
    return tuple(sorted(items)) or None


@lru_cache(maxsize=4096, typed=True)
def _canonical_scalar(value: float | str) -> str:
    # Cached: orders repeat the same few totals and line counts, and Decimal's parse and
    # normalization was most of what indexing an order's data cost.
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    normal = number.normalize()
    # normalize() writes 100 as 1E+2; write it back in plain positional notation (``f``
    # formatting, because quantize cannot hold more digits than the context's precision).
    return format(normal, "f")


def data_difference(
    upstream: tuple[tuple[str, str], ...] | None, downstream: tuple[tuple[str, str], ...] | None
) -> tuple[str, str, str] | None:
    """The first compared fact both sides state but disagree on: ``(key, upstream, downstream)``.

    Only ``total``, ``lines`` and ``skus`` are compared, each only when both sides state it.
    Money is equal within one minor unit of its currency, and totals in two different
    currencies are not compared at all (an ERP may book in its own currency). ``skus`` compare
    the quantities of the SKUs both sides name: a product one side names differently (or not
    at all) proves nothing, and a missing product line shows in ``lines``.

    >>> data_difference((("lines", "2"), ("total", "199")), (("total", "189"),))
    ('total', '199', '189')
    >>> data_difference((("total", "199.99"),), (("total", "200"),)) is None
    True
    >>> data_difference((("currency", "EUR"), ("total", "50")),
    ...                 (("currency", "PLN"), ("total", "215.40"))) is None
    True
    >>> data_difference((("skus", "A=2, B=1"),), (("skus", "A=1, B=1"),))
    ('skus', 'A=2, B=1', 'A=1, B=1')
    >>> data_difference((("erp_id", "7"), ("skus", "A=2")), (("erp_id", "9"), ("skus", "X=2")))
    """
    if not upstream or not downstream:
        return None
    mine, theirs = dict(upstream), dict(downstream)
    for key in COMPARED:
        a, b = mine.get(key), theirs.get(key)
        if a is None or b is None or a == b:
            continue
        if key == "total":
            currencies = {c for c in (mine.get("currency"), theirs.get("currency")) if c}
            if len(currencies) > 1 or _money_equal(a, b, next(iter(currencies), None)):
                continue
        elif key == "skus" and not _skus_differ(a, b):
            continue
        return key, a, b
    return None


def _money_equal(a: str, b: str, currency: str | None) -> bool:
    try:
        difference = abs(Decimal(a) - Decimal(b))
    except InvalidOperation:
        return False
    if not difference.is_finite():
        return False
    return difference <= Decimal(10) ** -MINOR_UNIT_EXPONENT.get(currency or "", 2)


def _skus_differ(a: str, b: str) -> bool:
    """Whether a SKU both sides name has different quantities on each."""

    def parsed(text: str) -> dict[str, str]:
        return dict(part.rsplit("=", 1) for part in text.split(", ") if "=" in part)

    mine, theirs = parsed(a), parsed(b)
    return any(mine[sku] != theirs[sku] for sku in mine.keys() & theirs.keys())


class UnionFind:
    """Union-find over interned (namespace, value) keys, with each root's member keys.

    Union by size keeps trees shallow and member lists are merged small-into-large, so the
    whole build is O(n log n) however the events arrive.

    >>> uf = UnionFind()
    >>> uf.union(uf.key("shop", "1"), uf.key("oms", "9"))
    (0, 1)
    >>> sorted(uf.members(uf.find(1)))
    [('oms', '9'), ('shop', '1')]
    """

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._keys: list[tuple[str, str]] = []
        self._parent: list[int] = []
        self._members: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def __getstate__(self) -> dict[str, Any]:
        """Without the table of keys' ids, the inverse of the list of keys (made again by
        :meth:`__setstate__`, its keys the list's own tuples)."""
        state = dict(vars(self))
        del state["_ids"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        vars(self).update(state)
        self._ids = {pair: key for key, pair in enumerate(self._keys)}

    def copy(self) -> UnionFind:
        """The same journeys in containers of its own (the keys, tuples, are shared)."""
        made = UnionFind()
        made._ids = dict(self._ids)
        made._keys = list(self._keys)
        made._parent = list(self._parent)
        made._members = {root: list(keys) for root, keys in self._members.items()}
        return made

    def key(self, namespace: str, value: str) -> int:
        """The id of ``(namespace, value)``, interning it as its own journey when new."""
        pair = (namespace, value)
        found = self._ids.get(pair)
        if found is not None:
            return found
        new = len(self._keys)
        self._ids[pair] = new
        self._keys.append(pair)
        self._parent.append(new)
        return new

    def lookup(self, namespace: str, value: str) -> int | None:
        return self._ids.get((namespace, value))

    def pair(self, key: int) -> tuple[str, str]:
        return self._keys[key]

    def find(self, key: int) -> int:
        parent = self._parent
        root = key
        while parent[root] != root:
            root = parent[root]
        while parent[key] != root:
            parent[key], key = root, parent[key]
        return root

    def size(self, root: int) -> int:
        members = self._members.get(root)
        return 1 if members is None else len(members)

    def union(self, a: int, b: int) -> tuple[int, int]:
        """Join the journeys of ``a`` and ``b``; returns ``(kept root, absorbed root)``.

        When they are already one journey, both elements are that root.
        """
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra, ra
        if self.size(ra) < self.size(rb):
            ra, rb = rb, ra
        self._parent[rb] = ra
        kept = self._members.setdefault(ra, [ra])
        kept.extend(self._members.pop(rb, [rb]))
        return ra, rb

    def members(self, root: int) -> list[tuple[str, str]]:
        """Every (namespace, value) pair of the journey whose root is ``root``."""
        return [self._keys[k] for k in self._members.get(root, [root])]
