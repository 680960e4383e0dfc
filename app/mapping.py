"""One mapping from a record to the model the API answers with: field by field, by name.

A record (a dataclass, a database row) and its API model mostly share their field names; the
model is read from the record's attributes of the same names, and only the fields named or
computed otherwise are given:

>>> from dataclasses import dataclass
>>> from pydantic import BaseModel
>>> @dataclass
... class Row:
...     id: int
...     system_id: str
...     kept: str = "not shown"
>>> class Out(BaseModel):
...     id: int
...     system: str
>>> row = Row(7, "erp")
>>> mapped(Out, row, system=row.system_id)
Out(id=7, system='erp')
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def mapped(model: type[M], record: object, /, **given: Any) -> M:
    """``model`` with the fields ``given``, and each other field read from ``record``'s
    attribute of the same name."""
    return model.model_validate(
        {
            name: given[name] if name in given else getattr(record, name)
            for name in model.model_fields
        }
    )
