"""The house stays tidy: sub-packages by concern, imports one way only, no cycles, nothing too long to hold.

The layers, highest first (docs/architecture.md). A module may import its own layer and the layers below it,
never one above: operations sit on top of the night's plan, not the other way round.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "lstosa_snake"
#: highest first; ``synthetic`` (the generator of test and demo nights) stands on top: nothing of the workflow uses it
LAYERS = ("synthetic", "follow", "ops", "web", "status", "jobs", "provenance", "night", "core")
#: limits (lines): the largest today are nightly.Night (~200) and web/publish.py (~500)
MAX_CLASS_LINES = 220
MAX_MODULE_LINES = 500


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``lstosa_snake.night.plan`` for src/lstosa_snake/night/plan.py (``__init__`` is its package)."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_imports(source: str, module: str, is_package: bool = False) -> set[str]:
    """The package's modules (dotted, absolute) a module imports, at top level or inside functions.
    ``from X import name`` counts as X (a name imported from a package may be a sub-module: it is
    resolved by :func:`resolve`)."""
    here = module.split(".") if is_package else module.split(".")[:-1]
    deps = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "lstosa_snake" or target.startswith("lstosa_snake."):
                deps.add(target)
                deps |= {f"{target}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            deps |= {a.name for a in node.names if a.name.startswith("lstosa_snake.")}
    return deps


def read_package(package: Path = PACKAGE) -> dict[str, set[str]]:
    """{module: the package's modules it imports}, names resolved against the modules that exist."""
    raw = {module_name(p, package): package_imports(p.read_text(), module_name(p, package), p.name == "__init__.py")
           for p in package.rglob("*.py")}
    return {mod: {d for d in deps if d in raw and d != mod} for mod, deps in raw.items()}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layering_violations(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    """One line per import that runs from a lower layer up to a higher one, or that involves a module
    outside every declared layer (the flat folder this package grew out of)."""
    rank = {name: i for i, name in enumerate(layers)}
    problems = []
    for mod in sorted(graph):
        if layer_of(mod) is None:
            continue  # the package's own __init__ (the version)
        if layer_of(mod) not in rank:
            problems.append(f"{mod} is in no declared layer (LAYERS: {', '.join(layers)})")
            continue
        for dep in sorted(graph[mod]):
            if layer_of(dep) is None:
                continue
            if layer_of(dep) not in rank:
                problems.append(f"{mod} imports {dep}, which is in no declared layer")
            elif rank[layer_of(dep)] < rank[layer_of(mod)]:
                problems.append(f"{mod} imports {dep}: layer '{layer_of(mod)}' is below '{layer_of(dep)}'")
    return problems


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


def test_imports_are_resolved_to_dotted_modules():
    src = ("from .report import x\nfrom . import atomic\nimport lstosa_snake.night.paths\n"
           "from ..core.errors import LstosaError\n"
           "def f():\n    from lstosa_snake.status.overview import y\n")
    assert package_imports(src, "lstosa_snake.web.page") == {
        "lstosa_snake.web.report", "lstosa_snake.web.report.x", "lstosa_snake.web", "lstosa_snake.web.atomic",
        "lstosa_snake.night.paths", "lstosa_snake.core.errors", "lstosa_snake.core.errors.LstosaError",
        "lstosa_snake.status.overview", "lstosa_snake.status.overview.y"}
    # in a package's __init__, "." is the package itself
    assert package_imports("from .document import main\n", "lstosa_snake.provenance", is_package=True) == {
        "lstosa_snake.provenance.document", "lstosa_snake.provenance.document.main"}


def test_layering_check_names_both_modules_of_an_upward_import():
    graph = {"lstosa_snake.night.plan": {"lstosa_snake.ops.nightly", "lstosa_snake.core.errors"},
             "lstosa_snake.ops.nightly": {"lstosa_snake.night.plan"},
             "lstosa_snake.flat": set(),
             "lstosa_snake.web.page": {"lstosa_snake.flat"}}
    assert layering_violations(graph) == [
        "lstosa_snake.flat is in no declared layer (LAYERS: " + ", ".join(LAYERS) + ")",
        "lstosa_snake.night.plan imports lstosa_snake.ops.nightly: layer 'night' is below 'ops'",
        "lstosa_snake.web.page imports lstosa_snake.flat, which is in no declared layer",
    ]


def test_the_package_is_read_whole():
    graph = read_package()
    assert len(graph) > 50, sorted(graph)
    # known edges, so that a resolver that finds nothing cannot pass the checks below
    assert "lstosa_snake.night.plan" in graph["lstosa_snake.ops.nightly"]
    assert "lstosa_snake.core.atomic" in graph["lstosa_snake.web.plotting"]
    assert "lstosa_snake.provenance.records" in graph["lstosa_snake.jobs.runner"]


def test_every_module_lives_in_a_layer_and_imports_only_downwards():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"], "modules belong in a sub-package"
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} == set(LAYERS)
    assert layering_violations(read_package()) == []


def test_no_import_cycles_in_the_package():
    assert import_cycles(read_package()) == []


def test_no_class_or_module_too_long_to_hold():
    too_long = []
    for p in sorted(PACKAGE.rglob("*.py")):
        text = p.read_text()
        name = p.relative_to(PACKAGE)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                too_long.append(f"{name}: class {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long
