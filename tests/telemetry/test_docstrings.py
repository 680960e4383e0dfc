"""The examples in the telemetry modules' docstrings run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "app.telemetry.export",
    "app.telemetry.journey_spans",
    "app.telemetry.metrics",
    "app.telemetry.otlp_codec",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
