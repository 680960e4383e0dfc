"""DESIGN.md's dependency rule, checked: graph imports neither app nor connectors (nor any I/O
framework), connectors do not import app, the sandbox imports none of the service's packages."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).parents[1]

FORBIDDEN = {
    "graph": {"app", "connectors", "sandbox", "fastapi", "sqlalchemy", "httpx", "starlette"},
    "connectors": {"app", "sandbox"},
    "sandbox": {"app", "connectors", "graph"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_point_inward(package: str) -> None:
    offences = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in offences.items() if v} == {}


PACKAGES = ("app", "connectors", "graph", "sandbox")

ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {}
"""Imports that close a cycle, kept on purpose (importer, imported) → why. Each is removed from
the graph before cycles are looked for, so any other cycle still fails the test."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports when it runs, at any level of the file (function
    bodies included: they run too); ``if TYPE_CHECKING:`` blocks never do."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking_only(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return {m for m in found if m in modules and m != name}


def test_no_import_cycles() -> None:
    paths = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    modules = {_module_name(path) for path in paths}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for path in paths:
        graph.add_edges_from((_module_name(path), m) for m in _imported_modules(path, modules))
    stale = [edge for edge in ALLOWED_CYCLE_EDGES if not graph.has_edge(*edge)]
    assert stale == [], "allowed cycle edges that no longer exist: remove them from the list"
    graph.remove_edges_from(ALLOWED_CYCLE_EDGES)
    cycles = [
        " -> ".join([*(a for a, _b in cycle), cycle[0][0]])
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1
        for cycle in [nx.find_cycle(graph.subgraph(component))]
    ]
    assert sorted(cycles) == [], "import cycles:\n" + "\n".join(sorted(cycles))


# Test folders that cut across packages rather than mirror one.
NOT_MIRRORS = {"tests/e2e", "tests/fixtures"}


def test_tests_mirror_the_packages() -> None:
    """Each folder of tests is named after the package it tests: ``tests/app/events`` holds the
    tests of ``app/events``; the end-to-end tests and the vendors' payloads are the exceptions."""
    folders = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("*")
        if path.is_dir() and path.name != "__pycache__"
    }
    strays = {
        folder
        for folder in folders
        if not any(folder == top or folder.startswith(f"{top}/") for top in NOT_MIRRORS)
        and not (ROOT / folder.removeprefix("tests/") / "__init__.py").is_file()
    }
    assert strays == set()
