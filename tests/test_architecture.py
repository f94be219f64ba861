"""The shape of the `jaxinit` package: imports run one way (no cycle, no function-level import of
a jaxinit module to hide one), no module over 800 lines, and at least 20 docstrings with an
example (`make test` runs them: `--doctest-modules jaxinit`).

The import-graph checker is a plain function over a package directory, tested first on toy
packages built in `tmp_path`, so that a red result on jaxinit itself is about jaxinit.
"""

from __future__ import annotations

import ast
import doctest
import graphlib
import importlib
import pathlib
import re

import pytest

import jaxinit

PACKAGE_DIR = pathlib.Path(jaxinit.__file__).resolve().parent
MAX_LINES = 800
MIN_DOCTESTS = 20

# Function-level imports of a jaxinit module that are allowed, as (importing module, imported
# module), each with the reason it is not a hidden cycle. Empty: none is needed.
FUNCTION_LEVEL_ALLOWED: set[tuple[str, str]] = set()


def module_names(package_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Dotted module name -> file, for every .py file under `package_dir` (the package's name is
    the directory's name; `pkg/__init__.py` is `pkg`)."""
    package_dir = pathlib.Path(package_dir)
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = (package_dir.name, *path.relative_to(package_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _imported(node, module: str, is_package: bool, known) -> list[str]:
    """The modules of `known` that one import statement in `module` loads."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        if node.level:  # relative: from the module's package, up `level - 1` packages
            package = module if is_package else module.rpartition(".")[0]
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            prefix = ".".join(base + ([node.module] if node.module else []))
        else:
            prefix = node.module
        # `from pkg import name`: name is a submodule, or an attribute of pkg itself.
        targets = [
            f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix
            for alias in node.names
        ]
    return sorted({t for t in targets if t in known})


def import_graph(package_dir: pathlib.Path):
    """Parses every module under `package_dir` and returns `(graph, function_level)`.

    `graph` maps each module to the set of modules of the same package it imports, by any import
    statement anywhere in the file (module level, under `if`/`try`, or inside a function: a
    function-level import still runs one module from the other). `function_level` lists
    `(importing module, imported module, line)` for the imports inside a function body.
    Parent packages are not edges (`import a.b.c` runs `a/__init__.py` first, from wherever it
    is imported); `from a import b` is an edge to the submodule `a.b` when there is one, else
    to `a`.
    """
    names = module_names(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in names}
    function_level = []
    for name, path in names.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.name == "__init__.py"
        in_function = set()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                in_function.update(id(n) for n in ast.walk(fn) if n is not fn)
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported(node, name, is_package, names):
                if target == name:
                    continue
                graph[name].add(target)
                if id(node) in in_function:
                    function_level.append((name, target, node.lineno))
    return graph, function_level


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in graph[todo.pop()] - seen:
            seen.add(nxt)
            todo.append(nxt)
    return seen


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle `[a, b, ..., a]` (a imports b, ...) per group of modules that import each other
    (strongly connected component), the shortest through the group's first module; [] if the
    graph is acyclic."""
    reach = {m: _reachable(graph, m) for m in graph}
    cycles, done = [], set()
    for start in sorted(graph):
        if start in done or start not in reach[start]:
            continue
        group = {m for m in reach[start] if start in reach[m]}
        done |= group
        parent, frontier = {}, [start]
        while start not in parent:  # breadth-first inside the group, back to start
            later = []
            for m in frontier:
                for n in sorted(graph[m] & group):
                    if n not in parent:
                        parent[n] = m  # m imports n
                        later.append(n)
            frontier = later
        back, m = [], parent[start]
        while m != start:
            back.append(m)
            m = parent[m]
        cycles.append([start, *reversed(back), start])
    return cycles


def _graphlib_acyclic(graph) -> bool:
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError:
        return False
    return True


def long_modules(package_dir: pathlib.Path, max_lines: int) -> dict[str, int]:
    """Modules of the package with more than `max_lines` lines, with their line counts."""
    counts = {n: len(p.read_text().splitlines()) for n, p in module_names(package_dir).items()}
    return {n: c for n, c in counts.items() if c > max_lines}


def _toy(tmp_path, files: dict[str, str]) -> pathlib.Path:
    root = tmp_path / "toy"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


ACYCLIC_TOY = {
    "__init__.py": "from toy._src.api import run as run\nfrom . import _src\n",
    "_src/__init__.py": "",
    "_src/base.py": "import os\nimport numpy\n",
    "_src/mid.py": "from toy._src import base\nfrom toy._src.base import os as _os\n",
    "_src/api.py": "from . import mid\nfrom .base import os\nimport toy._src.mid as m\n",
}


def test_checker_finds_every_kind_of_import_on_an_acyclic_toy(tmp_path):
    root = _toy(tmp_path, ACYCLIC_TOY)
    graph, function_level = import_graph(root)
    assert graph == {
        "toy": {"toy._src.api", "toy._src"},
        "toy._src": set(),
        "toy._src.base": set(),  # numpy and os are not the package's
        "toy._src.mid": {"toy._src.base"},
        "toy._src.api": {"toy._src.mid", "toy._src.base"},
    }
    assert function_level == []
    assert import_cycles(graph) == [] and _graphlib_acyclic(graph)


@pytest.mark.parametrize(
    "back_edge",
    [
        "from toy._src import api\n",  # from-package-import-submodule
        "from toy._src.api import run\n",  # from-module-import-name
        "from .api import run\n",  # relative
        "import toy._src.api\n",  # plain import
        "from .. import run\n",  # the package's __init__, which imports api
    ],
)
def test_checker_finds_a_cycle_through_any_import_form(tmp_path, back_edge):
    files = dict(ACYCLIC_TOY)
    files["_src/base.py"] += back_edge
    graph, _ = import_graph(_toy(tmp_path, files))
    (cycle,) = import_cycles(graph)
    assert not _graphlib_acyclic(graph)
    assert cycle[0] == cycle[-1] and "toy._src.base" in cycle
    for a, b in zip(cycle, cycle[1:]):
        assert b in graph[a], (a, b)  # a real path: each module imports the next


def test_checker_reports_a_function_level_import_and_counts_it_as_an_edge(tmp_path):
    files = dict(ACYCLIC_TOY)
    files["_src/base.py"] += "\n\ndef late():\n    from toy._src import mid\n    return mid\n"
    graph, function_level = import_graph(_toy(tmp_path, files))
    assert function_level == [("toy._src.base", "toy._src.mid", 6)]
    assert import_cycles(graph) == [["toy._src.base", "toy._src.mid", "toy._src.base"]]


def test_checker_reports_one_cycle_per_group_of_modules_importing_each_other(tmp_path):
    files = {
        "__init__.py": "",
        "a.py": "from toy import b\n",
        "b.py": "from toy import c\n",
        "c.py": "from toy import a, d\n",  # a -> b -> c -> a, and c -> d
        "d.py": "from toy import e\n",
        "e.py": "import toy.d\n",  # d <-> e
        "f.py": "import toy.a\n",  # outside both cycles
    }
    graph, _ = import_graph(_toy(tmp_path, files))
    assert import_cycles(graph) == [
        ["toy.a", "toy.b", "toy.c", "toy.a"],
        ["toy.d", "toy.e", "toy.d"],
    ]


def test_checker_counts_lines(tmp_path):
    root = _toy(tmp_path, {"__init__.py": "", "big.py": "x = 1\n" * 801, "ok.py": "x = 1\n" * 800})
    assert long_modules(root, 800) == {"toy.big": 801}


def test_jaxinit_import_graph_has_no_cycle():
    graph, _ = import_graph(PACKAGE_DIR)
    assert len(graph) > 10 and graph["jaxinit"]  # the package was found and parsed
    cycles = import_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join("  " + " -> ".join(c) for c in cycles)


def test_no_function_level_import_of_a_jaxinit_module():
    """A function-level import of a jaxinit module only hides a cycle (or a wrong-way edge) from
    whoever reads the module's imports; import at the top, in the one direction."""
    _, function_level = import_graph(PACKAGE_DIR)
    hidden = [f for f in function_level if f[:2] not in FUNCTION_LEVEL_ALLOWED]
    assert not hidden, "function-level imports:\n" + "\n".join(
        f"  {a} imports {b} at line {line}" for a, b, line in hidden
    )


def test_no_module_over_800_lines():
    assert long_modules(PACKAGE_DIR, 1) and PACKAGE_DIR.name == "jaxinit"  # counted something
    long = long_modules(PACKAGE_DIR, MAX_LINES)
    assert not long, f"modules over {MAX_LINES} lines: " + ", ".join(
        f"{n} ({c})" for n, c in sorted(long.items())
    )


def test_at_least_20_docstrings_with_examples():
    """Docstrings with at least one `>>>` example, over every jaxinit module (re-exports are
    counted once, in the module that defines them); `make test` runs them all
    (`--doctest-modules jaxinit`)."""
    finder = doctest.DocTestFinder()
    with_examples = []
    for name in module_names(PACKAGE_DIR):
        if name.endswith("__main__"):
            continue  # pytest's --doctest-modules skips __main__.py: examples there would not run
        module = importlib.import_module(name)
        with_examples += [t.name for t in finder.find(module) if t.examples]
    assert len(with_examples) >= MIN_DOCTESTS, (
        f"{len(with_examples)} docstrings with examples (want >= {MIN_DOCTESTS}): "
        + ", ".join(sorted(with_examples))
    )


def test_make_test_and_bare_pytest_run_the_docstring_examples():
    """The count above is worth something only if the examples run: `make test` passes
    --doctest-modules over jaxinit, and so does a bare `pytest` (pyproject's addopts and
    testpaths)."""
    root = PACKAGE_DIR.parent
    makefile = (root / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert re.search(r"-m pytest .*--doctest-modules jaxinit ", recipe), recipe
    ini = (root / "pyproject.toml").read_text().split("[tool.pytest.ini_options]", 1)[1]
    assert re.search(r'^addopts = ".*--doctest-modules.*"$', ini, re.M), ini
    assert re.search(r'^testpaths = \["jaxinit", ', ini, re.M), ini
