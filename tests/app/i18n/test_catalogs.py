"""The catalogs against the code: every message the templates, the app and graph's summaries
mark must have a Polish translation (not fuzzy, every plural form), with the same
placeholders, extracted as `make i18n` extracts them (babel.cfg)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.i18n.catalogs import catalog_path
from tests.paths import ROOT

KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "phrase": None, "counted": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

Key = str | tuple[str, ...]


def _extracted() -> dict[Key, str]:
    """Each message id found in the code, with where it was found."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: dict[Key, str] = {}
    for filename, line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(message)
        if key:
            found.setdefault(key, f"{filename}:{line}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[Key, str]:
    return _extracted()


@pytest.fixture(scope="module")
def polish() -> Catalog:
    with catalog_path("pl").open("rb") as source:
        return read_po(source, locale="pl")


def _key(message_id: str | tuple[str, ...] | list[str]) -> Key:
    return message_id if isinstance(message_id, str) else tuple(message_id)


def test_every_marked_message_has_a_polish_translation(
    extracted: dict[Key, str], polish: Catalog
) -> None:
    translated = {
        _key(m.id): m for m in polish if m.id and "fuzzy" not in m.flags and _filled(m.string)
    }
    missing = [f"{where}: {key!r}" for key, where in extracted.items() if key not in translated]
    assert not missing, "no Polish translation (run `make i18n` and translate):\n" + "\n".join(
        missing
    )


def test_the_catalog_has_nothing_fuzzy(polish: Catalog) -> None:
    """A fuzzy entry is a guess gettext does not use: the page would show English. (Entries
    no code uses any more are harmless; `make i18n` drops them.)"""
    fuzzy = [m.id for m in polish if m.id and "fuzzy" in m.flags]
    assert not fuzzy, f"fuzzy entries: {fuzzy}"


def test_polish_plurals_have_three_forms_and_keep_the_placeholders(polish: Catalog) -> None:
    assert polish.num_plurals == 3
    problems = []
    for message in polish:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        forms = [message.string] if isinstance(message.string, str) else list(message.string)
        if not isinstance(message.id, str) and len(forms) != 3:
            problems.append(f"{message.id!r}: {len(forms)} forms")
        allowed = {name for text in ids for name in PLACEHOLDER.findall(text)}
        for form in forms:
            unknown = set(PLACEHOLDER.findall(form)) - allowed
            if unknown:
                problems.append(f"{message.id!r}: unknown placeholders {unknown}")
    assert not problems, problems


def test_a_template_string_without_a_translation_is_caught(tmp_path: Path) -> None:
    """The check itself can fail: a new marked string in a template is reported missing."""
    (tmp_path / "app" / "dashboard" / "templates").mkdir(parents=True)
    page = tmp_path / "app" / "dashboard" / "templates" / "new.html"
    page.write_text('<p>{{ _("A sentence nobody translated") }}</p>\n', encoding="utf-8")
    (tmp_path / "babel.cfg").write_text((ROOT / "babel.cfg").read_text(), encoding="utf-8")
    with (tmp_path / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = {
        message
        for _f, _l, message, _c, _x in extract_from_dir(
            str(tmp_path), method_map, options_map, keywords=KEYWORDS
        )
    }
    with catalog_path("pl").open("rb") as source:
        polish = read_po(source, locale="pl")
    assert "A sentence nobody translated" in found
    assert polish.get("A sentence nobody translated") is None


def _filled(string: str | tuple[str, ...] | list[str]) -> bool:
    return bool(string) if isinstance(string, str) else all(string)
