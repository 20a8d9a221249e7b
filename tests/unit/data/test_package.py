"""The shape of the data package itself: importing it stays cheap, and its modules form
layers (base at the bottom, the registry on top) with no import circle.

The graph is read from the source with ``ast``, function-level imports included, so
a circle hidden inside a function fails here as surely as one at the top.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

import keras_models

REPO_ROOT = Path(keras_models.__file__).resolve().parents[1]
PACKAGE = "keras_models.data"
PACKAGE_DIR = REPO_ROOT / "keras_models" / "data"
# Loading these takes seconds; the package may import them only inside functions.
HEAVY = ("tensorflow", "tensorflow_datasets", "keras")


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve_import(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` reads from, relative forms included."""
    if not node.level:
        return node.module
    anchor = importer.split(".") if is_package else importer.split(".")[:-1]
    anchor = anchor[:len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def import_graph(root: Path, top: str) -> dict[str, set[str]]:
    """module -> the modules under ``top`` it imports, for every ``.py`` below ``root / top``.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a module,
    else as importing ``pkg`` (its ``__init__``).
    """
    paths = {module_name(p, root): p for p in (root / top).rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                source = resolve_import(node, name, path.name == "__init__.py")
                for alias in node.names:
                    candidate = f"{source}.{alias.name}"
                    edges.add(candidate if candidate in paths else source)
        graph[name] = {edge for edge in edges if edge in paths and edge != name}
    return graph


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every module ``start`` imports, directly or through others (itself only on a circle)."""
    seen, stack = set(), list(graph[start])
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph[name])
    return seen


def circle_through(graph: dict[str, set[str]], name: str) -> set[str]:
    """The modules on import circles through ``name``: those it reaches that reach it back."""
    return {other for other in reachable(graph, name) if name in reachable(graph, other)}


def write_package(root: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


# ----- the checker finds what it should ---------------------------------------------------------------
def test_the_checker_finds_a_circle_hidden_in_a_function(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "from pkg import a\n",
        "pkg/a.py": "from pkg.b import thing\n",
        "pkg/b.py": "def thing():\n    from . import a\n    return a\n",
    })
    graph = import_graph(tmp_path, "pkg")
    assert graph == {"pkg": {"pkg.a"}, "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert circle_through(graph, "pkg.a") == {"pkg.a", "pkg.b"}
    assert circle_through(graph, "pkg") == set()


def test_the_checker_tells_a_submodule_from_a_name_of_the_registry(tmp_path):
    write_package(tmp_path, {
        "pkg/__init__.py": "from pkg.a import helper\n",
        "pkg/a.py": "def helper():\n    pass\n",
        "pkg/b.py": "from pkg import a\nfrom pkg import helper\n",
    })
    graph = import_graph(tmp_path, "pkg")
    assert graph["pkg.b"] == {"pkg.a", "pkg"}
    assert all(circle_through(graph, name) == set() for name in graph)


# ----- the data package ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data_graph():
    graph = import_graph(REPO_ROOT, "keras_models")
    assert {"keras_models.data", "keras_models.data.base", "keras_models.data.shapes"} <= graph.keys()
    return graph


def test_the_data_package_has_no_import_circle(data_graph):
    # The graph spans all of keras_models, so a circle through config or files counts too;
    # circles that do not pass through the data package are not this test's to report.
    circles = {name: sorted(circle_through(data_graph, name)) for name in data_graph
               if name == PACKAGE or name.startswith(PACKAGE + ".")}
    assert {name: circle for name, circle in circles.items() if circle} == {}


def test_no_module_of_the_package_imports_the_registry(data_graph):
    importers = sorted(name for name, edges in data_graph.items()
                       if name.startswith(PACKAGE + ".") and PACKAGE in edges)
    assert importers == []


def test_base_imports_nothing_else_of_the_package(data_graph):
    assert data_graph[f"{PACKAGE}.base"] == set()


def test_only_heavy_libraries_are_imported_inside_functions():
    # Anything else imported late is a circle being dodged, or a dependency hidden from a reader.
    late = []
    for path in sorted(PACKAGE_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
        imports = {node for function in functions for node in ast.walk(function)
                   if isinstance(node, (ast.Import, ast.ImportFrom))}
        for node in sorted(imports, key=lambda node: node.lineno):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            late.extend(f"{path.name}:{node.lineno} {name}" for name in names if name.split(".")[0] not in HEAVY)
    assert late == []


def test_importing_the_package_loads_no_tensorflow():
    modules = sorted(module_name(p, REPO_ROOT) for p in PACKAGE_DIR.glob("*.py"))
    script = "\n".join([
        "import importlib, sys",
        "import keras_models.data",
        f"heavy = {HEAVY!r}",
        "loaded = [m for m in heavy if m in sys.modules]",
        "assert not loaded, f'import keras_models.data loaded {loaded}'",
        f"for name in {modules!r}:",
        "    importlib.import_module(name)",
        "    loaded = [m for m in heavy if m in sys.modules]",
        "    assert not loaded, f'importing {name} loaded {loaded}'",
    ])
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
