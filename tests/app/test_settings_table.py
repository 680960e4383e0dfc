"""The README's settings table is generated from the Settings model; this test keeps them equal.

After adding or changing a setting, regenerate the table with
``.venv/bin/python -m tests.app.test_settings_table`` (it rewrites the rows in README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.settings import Environment
from tests.paths import ROOT

README = ROOT / "README.md"
HEADER = "| variable | default | meaning |\n| --- | --- | --- |\n"


def _default(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`"
    if isinstance(value, Path) and not value.is_absolute():
        return f"`./{value}`"
    return f"`{value}`"


def settings_rows() -> str:
    rows = []
    for name, field in Environment.model_fields.items():
        default = field.get_default(call_default_factory=True)
        rows.append(f"| `ARBITER_{name.upper()}` | {_default(default)} | {field.description} |\n")
    return "".join(rows)


def _split(text: str) -> tuple[str, str, str]:
    start = text.index(HEADER) + len(HEADER)
    end = text.index("\n\n", start) + 1
    return text[:start], text[start:end], text[end:]


def test_readme_lists_every_setting_as_the_model_declares_it() -> None:
    _before, table, _after = _split(README.read_text())
    assert table == settings_rows(), "run: .venv/bin/python -m tests.app.test_settings_table"


if __name__ == "__main__":
    before, _table, after = _split(README.read_text())
    README.write_text(before + settings_rows() + after)
