"""Structure guards: the package's shape, checked from its source (AST and text, fast).

(a) no import cycles among gripkit modules; (b) nothing imports UP the pipeline (:data:`LAYERS`);
(c) no package shadows one of its own modules with a function or class of the same name;
(d) the front door (:mod:`gripkit`): every exported name resolves, the pipeline verbs are callables,
and ``import gripkit`` stays light; (e) nothing in ``src/`` points at files outside the repository or at
issue numbers.

What counts as an import. For cycles (a): imports run when a module is first imported, i.e. those
at module level (inside ``if``/``try``/``with`` blocks too). Imports inside functions are exempt: they
run when the function is called, after every module has finished initialising, so they cannot form an
initialisation cycle (the CLI defers its heavy imports that way on purpose). Imports under
``if TYPE_CHECKING:`` never run and are exempt everywhere. For layering (b) every import that runs
counts, at module level or inside a function: a function reaching backwards up the pipeline is as much
a backwards dependency as a module-level import.
"""

from __future__ import annotations

import ast
import importlib
import json
import pkgutil
import re
import subprocess
import sys
import types
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

import gripkit

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "gripkit"

#: The pipeline's layers, lowest first: a module may import its own layer and the layers BEFORE it,
#: never one after it. The name is the first component under ``gripkit`` (``gripkit.hotspots.find`` ->
#: ``hotspots``; ``gripkit/figures.py`` -> ``figures``). Read from the imports as they are: e.g.
#: ``workspace`` imports ``locking`` and ``results``; ``months`` names ``Workspace`` in annotations;
#: ``coverage`` reads the workspace's months; ``units`` reads the bundled force areas (``datasets``);
#: ``dosage`` reads stored plans (``patrol``);
#: ``national`` runs ``ingestion``, ``hotspots`` and ``funding``; ``demo`` drives the pipeline and
#: ``report``. ``gripkit/__init__.py`` is the front door, exempt: it names every verb lazily.
LAYERS = (
    "errors",
    "progress",
    "columns",
    "results",
    "validate",
    "locking",
    "workspace",
    "months",
    "coverage",
    "workers",
    "figures",
    "output",
    "datasets",
    "harm",
    "ingestion",
    "fetch",
    "units",
    "maptiles",
    "mapcontext",
    "hotspots",
    "forecast",
    "patrol",
    "dosage",
    "evaluate",
    "funding",
    "national",
    "audit",
    "report",
    "dashboard",
    "demo",
    "cli",
)


@dataclass(frozen=True)
class Import:
    """One ``import`` of a gripkit module found in the source."""

    source: str  # importing module
    target: str  # imported module (a package when a name is taken from its __init__)
    line: int
    module_level: bool  # runs when ``source`` is imported (not inside a function)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, name: str, path: Path) -> list[str]:
    known = modules()
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "gripkit"]
    if node.level:  # relative: from the importing module's package
        package = (name if path.name == "__init__.py" else name.rpartition(".")[0]).split(".")
        base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    if base.split(".")[0] != "gripkit":
        return []
    # ``from gripkit.hotspots import gistar`` imports the module gripkit.hotspots.gistar;
    # ``from gripkit.hotspots import find_hotspots`` takes a name from gripkit/hotspots/__init__.py.
    return sorted({f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names})


@cache
def imports() -> tuple[Import, ...]:
    """Every gripkit import in src/ that runs (TYPE_CHECKING blocks skipped)."""
    found: list[Import] = []
    for name, path in modules().items():

        def visit(nodes: list[ast.stmt], module_level: bool, name: str = name, path: Path = path) -> None:
            for node in nodes:
                if isinstance(node, ast.If) and _is_type_checking(node):
                    visit(node.orelse, module_level)
                    continue
                if isinstance(node, ast.Import | ast.ImportFrom):
                    for target in _targets(node, name, path):
                        found.append(Import(name, target, node.lineno, module_level))
                    continue
                inner = not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                    children = getattr(node, field, None)
                    if isinstance(children, list):
                        stmts = [c for c in children if isinstance(c, ast.stmt)]
                        stmts += [s for c in children if not isinstance(c, ast.stmt) for s in c.body]
                        visit(stmts, module_level and inner)

        visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body, True)
    return tuple(found)


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "gripkit"


# --------------------------------------------------------------------------------------------- (a)


def test_the_import_scan_sees_known_imports() -> None:
    """The scanner itself: imports the source plainly has are found, classified as they run."""
    found = {(i.source, i.target, i.module_level) for i in imports()}
    assert ("gripkit.workspace", "gripkit.locking", True) in found  # from gripkit import locking
    assert ("gripkit.workspace", "gripkit.columns", True) in found  # from gripkit import columns as C
    assert ("gripkit.results", "gripkit.errors", True) in found
    # months names Workspace only under TYPE_CHECKING: not an import that runs
    assert not any(i.source == "gripkit.months" and i.target == "gripkit.workspace" for i in imports())
    # the CLI defers its API imports into the commands (tests/cli/test_startup.py)
    assert any(i.source.startswith("gripkit.cli.") and not i.module_level for i in imports())


def test_no_import_cycles_among_modules() -> None:
    """No cycle of module-level imports (Tarjan's strongly connected components over the graph)."""
    graph: dict[str, set[str]] = {name: set() for name in modules()}
    for imp in imports():
        if imp.module_level and imp.target in graph:
            graph[imp.source].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    assert cycles == [], f"module-level import cycles (defer one import into a function): {cycles}"


def test_every_import_names_an_existing_module() -> None:
    missing = sorted({f"{i.source}:{i.line} -> {i.target}" for i in imports() if i.target not in modules()})
    assert missing == []


# --------------------------------------------------------------------------------------------- (b)


def test_every_module_has_a_layer() -> None:
    unknown = sorted({layer(m) for m in modules()} - set(LAYERS) - {"gripkit"})
    assert unknown == [], f"add {unknown} to LAYERS in tests/test_structure.py at its place in the pipeline"


def test_nothing_imports_up_the_pipeline() -> None:
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = sorted(
        f"{i.source}:{i.line} imports {i.target} ({layer(i.source)} is below {layer(i.target)})"
        for i in imports()
        if layer(i.source) != "gripkit"
        and layer(i.target) != "gripkit"
        and rank[layer(i.target)] > rank[layer(i.source)]
    )
    assert upward == []


def test_library_modules_do_not_import_the_front_door() -> None:
    """``from gripkit import Workspace`` inside the package hides the real (and lazy) dependency."""
    front = sorted(f"{i.source}:{i.line}" for i in imports() if i.target == "gripkit" != i.source)
    assert front == [], "import from the defining module (e.g. gripkit.workspace), not from gripkit"


# --------------------------------------------------------------------------------------------- (c)


def packages() -> list[str]:
    return sorted(name for name, path in modules().items() if path.name == "__init__.py")


@pytest.mark.parametrize("package", packages())
def test_no_package_shadows_its_own_module(package: str) -> None:
    """``import gripkit.<pkg>.<mod> as m`` gives the module, not a function exported as ``<mod>``.

    Python binds ``m`` through ``getattr(package, mod)``, so an ``__init__`` exporting a function
    ``gistar`` from ``gistar.py`` makes the module unreachable by that spelling (and by mock.patch).
    """
    pkg = importlib.import_module(package)
    shadowed = []
    for info in pkgutil.iter_modules(pkg.__path__):
        full = f"{package}.{info.name}"
        module = importlib.import_module(full)
        attribute = getattr(pkg, info.name)
        if attribute is not module:
            shadowed.append(f"{full} is shadowed by {type(attribute).__name__} {attribute!r}")
    exported = getattr(pkg, "__all__", [])
    clashes = [
        name
        for name in exported
        if name in {i.name for i in pkgutil.iter_modules(pkg.__path__)}
        and not isinstance(getattr(pkg, name), types.ModuleType)
    ]
    assert shadowed == [] and clashes == []


def test_import_as_gives_the_module() -> None:
    """The spelling that broke before the renames, run in a fresh interpreter."""
    code = (
        "import types, gripkit.hotspots.gistar as g, gripkit.forecast.rolling as r, "
        "gripkit.dosage.tracking as t, gripkit.ingestion.run as i, gripkit.funding.pot as p; "
        "print(all(isinstance(m, types.ModuleType) for m in (g, r, t, i, p)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"


# --------------------------------------------------------------------------------------------- (d)

VERBS = (
    "ingest",
    "find_hotspots",
    "backtest",
    "evaluate_experiment",
    "allocate",
    "write_report",
    "plan_patrols",
    "compliance",
    "simulate_power",
    "run_national",
)


@pytest.mark.parametrize("name", sorted(gripkit.__all__))
def test_every_front_door_name_resolves(name: str) -> None:
    assert getattr(gripkit, name) is not None


@pytest.mark.parametrize("name", VERBS)
def test_the_pipeline_verbs_are_callables_at_the_root(name: str) -> None:
    verb = getattr(gripkit, name)
    assert callable(verb) and not isinstance(verb, type | types.ModuleType), f"gripkit.{name} is {verb!r}"
    assert name in gripkit.__all__


def test_front_door_lazy_map_and_all_agree() -> None:
    """Every lazy name is exported once and points at a module that exists in src/."""
    assert set(gripkit._LAZY) <= set(gripkit.__all__), sorted(set(gripkit._LAZY) - set(gripkit.__all__))
    assert len(set(gripkit.__all__)) == len(gripkit.__all__)
    missing = {name: module for name, module in gripkit._LAZY.items() if module not in modules()}
    assert missing == {}


def test_import_gripkit_stays_light() -> None:
    """``import gripkit`` loads no pandas, numpy, duckdb or geopandas: every name is resolved on use."""
    heavy = ["pandas", "numpy", "duckdb", "geopandas", "pyarrow", "scipy", "matplotlib", "typer"]
    code = (
        "import json, sys; import gripkit; import gripkit.errors; "
        f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == []


# --------------------------------------------------------------------------------------------- (e)

#: Text in src/ that points outside the repository or at the tracker: the facts cited belong in
#: docs/domain.md (in the repository), and an issue number means nothing to a reader of the code.
OUTSIDE = re.compile(
    r"(?-i:DOMAIN\.md)|\.\./shared|shared/data|\bissues?\s*#?\s*\d+|\(issue\b", re.IGNORECASE
)
TEXT_SUFFIXES = {".py", ".csv", ".html", ".js", ".css", ".md", ".txt", ".toml", ".json", ".sql", ".j2"}


def test_the_outside_pattern_catches_what_it_should() -> None:
    for text in ("see DOMAIN.md", "../shared/data/leeds", "(issue 8)", "issue 6:", "issue #12", "(issue"):
        assert OUTSIDE.search(text), text
    for text in ("docs/domain.md", "shared edge", "an issue with the file", "the shared zip"):
        assert not OUTSIDE.search(text), text


def test_src_refers_to_nothing_outside_the_repository() -> None:
    hits = []
    for path in sorted(PACKAGE.rglob("*")):
        if not path.is_file() or path.suffix not in TEXT_SUFFIXES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            match = OUTSIDE.search(line)
            if match:
                hits.append(f"{path.relative_to(SRC)}:{number}: {match.group(0)!r}")
    assert hits == [], "point at docs/domain.md (or drop the issue number):\n" + "\n".join(hits)
