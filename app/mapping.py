"""One mapping from a record to the model the API answers with: field by field, by name.

A record (a dataclass, a database row) and its API model mostly share their field names; the
model is read from the record's attributes of the same names, and only the fields named
otherwise are said:

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
>>> mapped(Out, Row(7, "erp"), system="system_id")
Out(id=7, system='erp')
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


def mapped(model: type[M], record: object, /, **renamed: str) -> M:
    """``model`` with each field read from ``record``'s attribute of that name, or of the name
    ``renamed`` gives it."""
    return model.model_validate(
        {name: getattr(record, renamed.get(name, name)) for name in model.model_fields}
    )
