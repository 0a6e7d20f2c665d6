"""The house stays tidy: no import cycles in the package, no class or module one reader cannot hold."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lstosa_snake"
#: limits (lines): the largest today are nightly.Night (~200) and provenance.py (~540)
MAX_CLASS_LINES = 220
MAX_MODULE_LINES = 600


def package_imports(source: str) -> set[str]:
    """The package's modules a module imports, at top level or inside functions."""
    deps = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:
                deps |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
            elif node.level == 0 and (node.module or "").startswith("lstosa_snake."):
                deps.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            deps |= {a.name.split(".")[1] for a in node.names if a.name.startswith("lstosa_snake.")}
    return deps


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle met by a depth-first walk (each as the modules along it, first repeated at the end)."""
    state, path, cycles = {}, [], []

    def visit(mod):
        state[mod] = "open"
        path.append(mod)
        for dep in sorted(graph.get(mod, ())):
            if dep not in graph:
                continue
            if state.get(dep) == "open":
                cycles.append(path[path.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        path.pop()
        state[mod] = "done"

    for mod in sorted(graph):
        if mod not in state:
            visit(mod)
    return cycles


def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
    assert package_imports("from .report import x\nfrom . import atomic\nimport lstosa_snake.paths\n"
                           "def f():\n    from lstosa_snake.status import y\n") == {"report", "atomic", "paths",
                                                                                    "status"}


def test_no_import_cycles_in_the_package():
    graph = {p.stem: package_imports(p.read_text()) for p in PACKAGE.glob("*.py")}
    assert len(graph) > 40 and graph["nightly"], sorted(graph)  # the package was read
    assert import_cycles(graph) == []


def test_no_class_or_module_too_long_to_hold():
    too_long = []
    for p in sorted(PACKAGE.glob("*.py")):
        text = p.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{p.name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                too_long.append(f"{p.name}: class {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long
