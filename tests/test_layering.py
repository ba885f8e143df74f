"""The package layering the guide fixes: no import cycle inside a package, and each stage
imports only the stages beneath it (``ui``/``eval`` use ``qa``; ``qa`` uses ``index``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENEATH = {"index": set(), "qa": {"index"}, "ui": {"qa", "index"}, "eval": {"qa", "index"}}


def _imports(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` and the other stages it imports (lazy imports too)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((REPO / package).glob("*.py")):
        name = path.stem
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level == 1:
                    if node.module:
                        found.add(node.module.split(".")[0])
                    else:
                        found.update(a.name for a in node.names)
                elif node.level == 0 and node.module:
                    found.add("@" + node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update("@" + a.name.split(".")[0] for a in node.names)
        graph[name] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(graph.get(n, ())):
            if m not in graph or m == "__init__":
                continue
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state and (found := visit(m)):
                return found
        stack.pop()
        state[n] = 2
        return None

    for n in graph:
        if n not in state and n != "__init__" and (found := visit(n)):
            return found
    return None


@pytest.mark.parametrize("package", sorted(BENEATH))
def test_no_import_cycle_inside_the_package(package):
    graph = _imports(package)
    assert _cycle(graph) is None, " -> ".join(_cycle(graph) or [])


@pytest.mark.parametrize("package", sorted(BENEATH))
def test_stages_import_only_the_stages_beneath_them(package):
    others = set(BENEATH) - {package}
    for module, found in _imports(package).items():
        stages = {m[1:] for m in found if m.startswith("@")} & others
        assert stages <= BENEATH[package], (
            f"{package}/{module}.py imports {sorted(stages - BENEATH[package])}"
        )


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
