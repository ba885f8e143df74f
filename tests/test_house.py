"""House rules the guide sets for the code itself: no module over 400 lines, no function over
80, and the private names of third-party code we depend on only in their adapter modules
(where a test of the adapter fails if the library changes them)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("qa", "index", "ui", "eval")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
# Data and generated files, which are not code anyone reads as a module: none today.
EXCEPTED: set[str] = set()

# A private name of a library, and the one module allowed to use it (the adapter).
PRIVATE_THIRD_PARTY = {
    r"(?<!self)\._model\b": "qa/_llamacpp_compat.py",  # llama-index's LlamaCPP keeps its Llama only there
    r"\._sparse_search\b": None,  # MilvusVectorStore's: replaced by our text_search
    r"\._parse_from_milvus_results\b": None,
    r"\._get_client\(": None,  # OpenAILike's: we build our own openai client
}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py") if "models" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_no_module_over_400_lines_and_no_function_over_80():
    too_long = []
    for path in _modules():
        if _rel(path) in EXCEPTED:
            continue
        text = path.read_text(encoding="utf-8")
        if (n := len(text.splitlines())) > MAX_MODULE_LINES:
            too_long.append(f"{_rel(path)}: {n} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if n > MAX_FUNCTION_LINES:
                    too_long.append(f"{_rel(path)}:{node.lineno} {node.name}(): {n} lines")
    assert not too_long, "split these by job:\n" + "\n".join(too_long)


@pytest.mark.parametrize("pattern", sorted(PRIVATE_THIRD_PARTY))
def test_private_names_of_libraries_only_in_their_adapter(pattern):
    allowed = PRIVATE_THIRD_PARTY[pattern]
    found = []
    for path in _modules():
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(pattern, code) and not code.lstrip().startswith(('"', "'")) and _rel(path) != allowed:
                found.append(f"{_rel(path)}:{i}: {line.strip()}")
    assert not found, "\n".join(found)

