"""The examples in the docstrings of the incident, notification and warning modules hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "app.incidents.lifecycle",
    "app.incidents.service",
    "app.notifications.sender",
    "app.warnings.rules",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
