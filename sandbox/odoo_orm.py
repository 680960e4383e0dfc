"""A very small Odoo: the handful of models the integrations touch, domains, read formatting.

Both of Odoo's external APIs (JSON-RPC ``execute_kw`` and JSON-2) call into this one place,
so they cannot disagree. Values are stored raw (a many2one is an id) and rendered the way the
ORM reads them (``[id, display_name]`` or ``False``).

>>> db = OdooDb(order_name=lambda n: f"S{n:05d}")
>>> pid = db.insert("product.product", {"default_code": "ABC-1", "name": "Mug"})
>>> db.read("product.product", [pid], ["display_name"])
[{'id': 1, 'display_name': '[ABC-1] Mug'}]
>>> db.search("product.product", [["default_code", "=ilike", "abc-%"]])
[1]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sandbox import timefmt

M2O = "many2one"
O2M = "one2many"

# model -> field -> (type, related model or None)
MODELS: dict[str, dict[str, tuple[str, str | None]]] = {
    "res.partner": {"name": ("char", None), "email": ("char", None)},
    "res.currency": {"name": ("char", None)},
    "product.product": {
        "default_code": ("char", None),
        "name": ("char", None),
        "list_price": ("float", None),
        "active": ("boolean", None),
    },
    "stock.location": {
        "name": ("char", None),
        "complete_name": ("char", None),
        "usage": ("selection", None),
    },
    "stock.quant": {
        "product_id": (M2O, "product.product"),
        "location_id": (M2O, "stock.location"),
        "quantity": ("float", None),
        "reserved_quantity": ("float", None),
        "available_quantity": ("float", None),
        "in_date": ("datetime", None),
    },
    "sale.order": {
        "name": ("char", None),
        "client_order_ref": ("char", None),
        "origin": ("char", None),
        "state": ("selection", None),
        "partner_id": (M2O, "res.partner"),
        "currency_id": (M2O, "res.currency"),
        "amount_total": ("monetary", None),
        "amount_untaxed": ("monetary", None),
        "date_order": ("datetime", None),
        "order_line": (O2M, "sale.order.line"),
    },
    "sale.order.line": {
        "order_id": (M2O, "sale.order"),
        "product_id": (M2O, "product.product"),
        "name": ("char", None),
        "product_uom_qty": ("float", None),
        "price_unit": ("float", None),
        "price_subtotal": ("monetary", None),
        "is_delivery": ("boolean", None),
        # Section and note lines have a display_type; product lines have none (False).
        "display_type": ("selection", None),
    },
}
COMMON_FIELDS: dict[str, tuple[str, str | None]] = {
    "id": ("integer", None),
    "display_name": ("char", None),
    "create_date": ("datetime", None),
    "write_date": ("datetime", None),
}
WRITABLE = {"sale.order": {"state", "client_order_ref", "origin"}}


class OdooError(Exception):
    """An exception as Odoo names it (``odoo.exceptions.ValidationError``...), with the HTTP
    status the JSON-2 API gives it."""

    def __init__(self, name: str, message: str, status: int) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.status = status


def access_denied(message: str = "Access Denied") -> OdooError:
    return OdooError("odoo.exceptions.AccessDenied", message, 401)


def validation_error(message: str) -> OdooError:
    return OdooError("odoo.exceptions.ValidationError", message, 422)


def _fields(model: str) -> dict[str, tuple[str, str | None]]:
    spec = MODELS.get(model)
    if spec is None:
        raise OdooError("builtins.KeyError", f"'{model}'", 404)
    return {**COMMON_FIELDS, **spec}


@dataclass
class OdooDb:
    order_name: Callable[[int], str]
    clock: Callable[[], datetime] = timefmt.now
    tables: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {model: {} for model in MODELS}
    )
    _sequence: dict[str, int] = field(default_factory=dict)
    _order_seq: int = 0

    # --- internal writes (the ERP's own users and the traffic generator) ---------------------

    def insert(
        self, model: str, values: dict[str, Any], *, visible_at: datetime | None = None
    ) -> int:
        self._sequence[model] = self._sequence.get(model, 0) + 1
        record_id = self._sequence[model]
        stamp = timefmt.odoo(self.clock())
        record = {"id": record_id, "create_date": stamp, "write_date": stamp, **values}
        if visible_at is not None:
            record["_visible_at"] = visible_at
        self.tables[model][record_id] = record
        return record_id

    def reserve_id(self, model: str) -> int:
        """Consume an id without storing a record (what a lost insert looks like from outside)."""
        self._sequence[model] = self._sequence.get(model, 0) + 1
        return self._sequence[model]

    def next_order_name(self) -> str:
        self._order_seq += 1
        return self.order_name(self._order_seq)

    def touch(self, model: str, record_id: int, values: dict[str, Any]) -> None:
        record = self.tables[model][record_id]
        record.update(values)
        record["write_date"] = timefmt.odoo(self.clock())

    # --- visibility ---------------------------------------------------------------------------

    def _visible(self, record: dict[str, Any]) -> bool:
        visible_at: datetime | None = record.get("_visible_at")
        return visible_at is None or visible_at <= self.clock()

    def visible(self, model: str) -> Iterator[dict[str, Any]]:
        _fields(model)
        return (r for r in self.tables[model].values() if self._visible(r))

    def get(self, model: str, record_id: int) -> dict[str, Any] | None:
        record = self.tables.get(model, {}).get(record_id)
        return record if record is not None and self._visible(record) else None

    # --- the ORM methods the external APIs expose ---------------------------------------------

    def display_name(self, model: str, record: dict[str, Any]) -> str:
        if model == "product.product":
            code = record.get("default_code")
            return f"[{code}] {record.get('name')}" if code else str(record.get("name"))
        if model == "stock.location":
            return str(record.get("complete_name") or record.get("name"))
        if model == "stock.quant":
            product = self.get("product.product", int(record["product_id"]))
            return self.display_name("product.product", product) if product else ""
        return str(record.get("name") or f"{model},{record['id']}")

    def search(
        self,
        model: str,
        domain: list[Any] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[int]:
        predicate = self._compile(model, domain or [])
        records = [r for r in self.visible(model) if predicate(r)]
        for key, descending in reversed(self._order(model, order)):
            records.sort(key=self._sorter(model, key), reverse=descending)
        ids = [int(r["id"]) for r in records]
        return ids[offset : None if limit is None else offset + limit]

    def search_count(self, model: str, domain: list[Any] | None = None) -> int:
        return len(self.search(model, domain))

    def read(
        self, model: str, ids: list[int], fields: list[str] | None = None
    ) -> list[dict[str, Any]]:
        spec = _fields(model)
        wanted = list(fields) if fields else [f for f in spec if f != "id"]
        for name in wanted:
            if name not in spec:
                raise OdooError(
                    "builtins.ValueError", f"Invalid field {name!r} on model {model!r}", 422
                )
        rows = []
        for record_id in ids:
            record = self.get(model, int(record_id))
            if record is None:
                raise OdooError(
                    "odoo.exceptions.MissingError",
                    f"Record does not exist or has been deleted.\n(Record: {model}({record_id},))",
                    404,
                )
            row: dict[str, Any] = {"id": record["id"]}
            for name in wanted:
                if name != "id":
                    row[name] = self._render(model, record, name, spec[name])
            rows.append(row)
        return rows

    def search_read(
        self,
        model: str,
        domain: list[Any] | None = None,
        fields: list[str] | None = None,
        offset: int = 0,
        limit: int | None = None,
        order: str | None = None,
    ) -> list[dict[str, Any]]:
        return self.read(model, self.search(model, domain, offset, limit, order), fields)

    def fields_get(self, model: str) -> dict[str, dict[str, Any]]:
        return {
            name: {"type": kind, "string": name.replace("_", " ").title(), "relation": rel or False}
            for name, (kind, rel) in _fields(model).items()
        }

    def write(self, model: str, ids: list[int], values: dict[str, Any]) -> bool:
        allowed = WRITABLE.get(model, set())
        forbidden = sorted(set(values) - allowed)
        if forbidden:
            raise OdooError(
                "odoo.exceptions.AccessError",
                f"You are not allowed to modify '{model}' ({', '.join(forbidden)}) records.",
                403,
            )
        for record_id in ids:
            if self.get(model, int(record_id)) is None:
                raise OdooError(
                    "odoo.exceptions.MissingError",
                    "Record does not exist or has been deleted.",
                    404,
                )
            self.touch(model, int(record_id), values)
        return True

    # --- internals ----------------------------------------------------------------------------

    def _render(
        self, model: str, record: dict[str, Any], name: str, kind: tuple[str, str | None]
    ) -> Any:
        ftype, related = kind
        if name == "display_name":
            return self.display_name(model, record)
        if model == "stock.quant" and name == "available_quantity":
            return float(record.get("quantity", 0)) - float(record.get("reserved_quantity", 0))
        if model == "sale.order" and name == "order_line":
            return [
                line["id"]
                for line in self.tables["sale.order.line"].values()
                if line["order_id"] == record["id"]
            ]
        value = record.get(name)
        if ftype == M2O and related is not None:
            target = self.get(related, int(value)) if value else None
            return [target["id"], self.display_name(related, target)] if target else False
        if value is None:
            return False
        if ftype in {"float", "monetary"}:
            return float(value)
        return value

    def _value(self, model: str, record: dict[str, Any], path: str) -> Any:
        """The comparable value at a dotted path; a many2one compares by id (or its name, when
        compared with text)."""
        head, _, rest = path.partition(".")
        spec = _fields(model)
        if head not in spec:
            raise OdooError("builtins.ValueError", f"Invalid field {model}.{head} in leaf", 422)
        ftype, related = spec[head]
        if rest:
            if ftype != M2O or related is None:
                raise OdooError("builtins.ValueError", f"Invalid field {model}.{path} in leaf", 422)
            target = self.get(related, int(record[head])) if record.get(head) else None
            return self._value(related, target, rest) if target else None
        if head in {"display_name", "available_quantity", "order_line"}:
            return self._render(model, record, head, spec[head])
        return record.get(head)

    def _sorter(self, model: str, path: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
        return lambda record: _sort_key(self._value(model, record, path))

    def _order(self, model: str, order: str | None) -> list[tuple[str, bool]]:
        clauses = []
        for part in (order or "id").split(","):
            words = part.split()
            if not words:
                continue
            if words[0] not in _fields(model):
                raise OdooError(
                    "builtins.ValueError", f"Invalid field {words[0]!r} on model {model!r}", 422
                )
            clauses.append((words[0], len(words) > 1 and words[1].lower() == "desc"))
        return clauses

    def _compile(self, model: str, domain: list[Any]) -> Callable[[dict[str, Any]], bool]:
        if not isinstance(domain, list):
            raise OdooError("builtins.ValueError", f"Invalid domain: {domain!r}", 422)
        tokens = list(domain)
        position = 0

        def parse() -> Callable[[dict[str, Any]], bool]:
            nonlocal position
            if position >= len(tokens):
                raise OdooError("builtins.ValueError", f"Invalid domain: {domain!r}", 422)
            item = tokens[position]
            position += 1
            if item == "!":
                inner = parse()
                return lambda r: not inner(r)
            if isinstance(item, str) and item in {"&", "|"}:
                left, right = parse(), parse()
                if item == "&":
                    return lambda r: left(r) and right(r)
                return lambda r: left(r) or right(r)
            if isinstance(item, list | tuple) and len(item) == 3:
                return self._leaf(model, item[0], str(item[1]), item[2])
            raise OdooError("builtins.ValueError", f"Invalid leaf {item!r}", 422)

        parts = []
        while position < len(tokens):
            parts.append(parse())
        return lambda r: all(p(r) for p in parts)

    def _leaf(self, model: str, path: Any, op: str, value: Any) -> Callable[[dict[str, Any]], bool]:
        if isinstance(path, int):  # TRUE_LEAF (1, '=', 1) and FALSE_LEAF (0, '=', 1)
            return lambda _r: path == value
        spec = _fields(model)
        head = str(path).split(".")[0]
        if head not in spec:
            raise OdooError("builtins.ValueError", f"Invalid field {model}.{path} in leaf", 422)
        by_name = spec[head][0] == M2O and "." not in str(path) and isinstance(value, str)
        compare = _OPERATORS.get(op)
        if compare is None:
            raise OdooError("builtins.ValueError", f"Invalid leaf operator {op!r}", 422)

        def leaf(record: dict[str, Any]) -> bool:
            if by_name:
                related = spec[head][1]
                target = self.get(related or "", int(record[head])) if record.get(head) else None
                actual: Any = self.display_name(related or "", target) if target else None
            else:
                actual = self._value(model, record, str(path))
            return compare(actual, value)

        return leaf


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value is False:
        return (0, "")
    if isinstance(value, list):
        return (1, str(value))
    return (1, value)


def _like(pattern: str, *, exact: bool, fold: bool) -> re.Pattern[str]:
    body = (
        re.escape(pattern).replace("%", ".*").replace("_", ".")
        if exact
        else f".*{re.escape(pattern)}.*"
    )
    return re.compile(f"^{body}$", (re.IGNORECASE if fold else 0) | re.DOTALL)


def _falsy(value: Any) -> bool:
    return value is None or value is False or value == ""


def _eq(actual: Any, expected: Any) -> bool:
    if expected is False or expected is None:
        return _falsy(actual)
    return bool(actual == expected)


def _cmp(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        if _falsy(actual):
            return False
        try:
            return test(actual, expected)
        except TypeError:
            return test(str(actual), str(expected))

    return compare


def _match(exact: bool, fold: bool, negate: bool = False) -> Callable[[Any, Any], bool]:
    def compare(actual: Any, expected: Any) -> bool:
        found = not _falsy(actual) and bool(
            _like(str(expected), exact=exact, fold=fold).match(str(actual))
        )
        return found != negate

    return compare


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": _eq,
    "!=": lambda a, e: not _eq(a, e),
    "<": _cmp(lambda a, e: bool(a < e)),
    ">": _cmp(lambda a, e: bool(a > e)),
    "<=": _cmp(lambda a, e: bool(a <= e)),
    ">=": _cmp(lambda a, e: bool(a >= e)),
    "in": lambda a, e: a in list(e),
    "not in": lambda a, e: a not in list(e),
    "like": _match(exact=False, fold=False),
    "ilike": _match(exact=False, fold=True),
    "not like": _match(exact=False, fold=False, negate=True),
    "not ilike": _match(exact=False, fold=True, negate=True),
    "=like": _match(exact=True, fold=False),
    "=ilike": _match(exact=True, fold=True),
}
