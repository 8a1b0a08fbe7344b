"""The layering check: ylai's import graph has no cycle and no edge that points up.

The graph is read with ``ast`` from the sources of ``ylai_plugin`` and ``ylai_operators``:
every import counts, module-level or inside a function, ``TYPE_CHECKING`` ones too (a
type-level cycle is a cycle). The layers are the table in ``docs/architecture.md``, so the
document a newcomer reads is the one the test enforces. The rules:

- no import cycle between modules, nor between the packages and top modules of ``ylai_plugin``;
- no import from a row of the layer table to a row above it, and every module has a row;
- no module imports a third-party package its row forbids (the domain knows nothing of HTTP);
- a route module never imports another route module;
- a DAG file imports only ``ylai_operators``, Airflow and the standard library;
- no module imports another module's private name (``_name``), nor reads one off an imported module;
- only ``ylai_plugin.config`` reads the ``[ylai]`` section (``conf.get*("ylai", ...)``): the
  defaults live in its table, nowhere else.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (REPO / "plugins", REPO / "operators")
PACKAGES = ("ylai_plugin", "ylai_operators")
DAGS = REPO / "dags"
ARCHITECTURE_DOC = REPO / "docs" / "architecture.md"
ROUTES = "ylai_plugin.api.routes"
CONFIG = "ylai_plugin.config"
# Other packages reach ylai_operators only through its public face.
FACADES = {"ylai_operators": "ylai_operators.catalog"}
CONF_READS = frozenset({"get", "getint", "getfloat", "getboolean", "getjson", "getlist", "get_mandatory_value"})
# What a DAG file may import besides the standard library.
DAG_IMPORTS = frozenset({"ylai_operators", "airflow", "__future__"})
SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "ui"})


@dataclass(frozen=True)
class Layer:
    """One row of the layer table: its label, the modules it covers and what it may not import."""

    label: str
    modules: tuple[str, ...]
    forbidden: tuple[str, ...] = ()


@dataclass
class Graph:
    """Modules (name → file), the edges between them and what else each one imports."""

    files: dict[str, Path]
    edges: dict[str, set[str]] = field(default_factory=dict)
    external: dict[str, set[str]] = field(default_factory=dict)  # module → top-level third-party names
    private: list[str] = field(default_factory=list)  # "module:line imports other._name"
    config_reads: list[str] = field(default_factory=list)  # "module:line conf.getint('ylai', ...)"


# -- reading the sources ---------------------------------------------------------------------


def discover(roots: Iterable[Path], packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``roots``, by dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for root in roots:
        for package in packages:
            top = root / package
            if not top.is_dir():
                continue
            for path in sorted(top.rglob("*.py")):
                relative = path.relative_to(root)
                if SKIPPED_DIRS & set(relative.parts[1:-1]):
                    continue
                parts = list(relative.with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                found[".".join(parts)] = path
    return found


def _resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join([*base, *([target] if target else [])])


def _known(name: str, modules: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` is or lies in (``a.b.attr`` → ``a.b``)."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _imports(tree: ast.AST, module: str, is_package: bool) -> Iterator[tuple[str, list[ast.alias], ast.stmt]]:
    """(imported module, names taken from it, node) for every import statement, at any depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node
        elif isinstance(node, ast.ImportFrom):
            target = node.module
            if node.level:
                target = _resolve_relative(module, is_package, node.level, node.module)
            assert target is not None
            yield target, node.names, node


def build_graph(files: dict[str, Path]) -> Graph:
    """The import graph of ``files`` (dotted name → path)."""
    graph = Graph(files)
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges = graph.edges.setdefault(module, set())
        external = graph.external.setdefault(module, set())
        module_aliases: dict[str, str] = {}  # local name → internal module it is bound to
        for target, names, node in _imports(tree, module, is_package):
            if names and target not in files and _known(target, files) is None:
                external.add(target.split(".")[0])
                continue
            if not names:  # import a.b.c [as x]
                known = _known(target, files)
                if known is None:
                    external.add(target.split(".")[0])
                    continue
                edges.add(known)
                assert isinstance(node, ast.Import)
                for alias in node.names:
                    if alias.name == target and alias.asname:
                        module_aliases[alias.asname] = known
                continue
            for imported in names:
                name = imported.name
                submodule = f"{target}.{name}"
                if submodule in files:  # from package import module
                    edges.add(submodule)
                    module_aliases[imported.asname or name] = submodule
                    if _private(name):
                        graph.private.append(f"{module}:{node.lineno} imports the private module {submodule}")
                    continue
                owner = _known(target, files)
                assert owner is not None
                edges.add(owner)
                if _private(name) and owner != module:
                    graph.private.append(f"{module}:{node.lineno} imports {owner}.{name}")
        for use in ast.walk(tree):
            if (
                isinstance(use, ast.Attribute)
                and isinstance(use.value, ast.Name)
                and use.value.id in module_aliases
                and _private(use.attr)
            ):
                owner = module_aliases[use.value.id]
                graph.private.append(f"{module}:{use.lineno} uses {owner}.{use.attr}")
            if (
                isinstance(use, ast.Call)
                and isinstance(use.func, ast.Attribute)
                and use.func.attr in CONF_READS
                and use.args
                and isinstance(use.args[0], ast.Constant)
                and use.args[0].value == "ylai"
            ):
                graph.config_reads.append(f"{module}:{use.lineno} {ast.unparse(use)}")
        edges.discard(module)
    return graph


# -- the layer table -------------------------------------------------------------------------

TABLE_START, TABLE_END = "<!-- layers:begin -->", "<!-- layers:end -->"


def parse_layers(markdown: str) -> list[Layer]:
    """The rows of the table between the ``layers`` markers, top layer first.

    Columns: the layer's label, its modules in backticks (a name covers everything under it),
    and the third-party packages it may not import, in backticks.
    """
    start, end = markdown.index(TABLE_START), markdown.index(TABLE_END)
    layers = []
    for line in markdown[start:end].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[1] or set(cells[1]) <= {"-", ":", " "}:
            continue
        modules = tuple(re.findall(r"`([\w.]+)`", cells[1]))
        if not modules:
            continue  # the header
        forbidden = tuple(re.findall(r"`([\w.]+)`", cells[2])) if len(cells) > 2 else ()
        layers.append(Layer(cells[0], modules, forbidden))
    return layers


def rank_of(module: str, layers: list[Layer]) -> int | None:
    """The index of the row whose longest name covers ``module`` (0 is the top row)."""
    best: tuple[int, int] | None = None
    for index, layer in enumerate(layers):
        for name in layer.modules:
            if (module == name or module.startswith(name + ".")) and (best is None or len(name) > best[0]):
                best = (len(name), index)
    return None if best is None else best[1]


# -- the rules ---------------------------------------------------------------------------------


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def package_of(module: str) -> str:
    """``ylai_plugin.api.routes.tasks`` → ``ylai_plugin.api``; a top module is its own package."""
    return ".".join(module.split(".")[:2])


def package_edges(edges: dict[str, set[str]]) -> dict[str, set[str]]:
    """The module edges lifted to packages (an edge inside one package is dropped)."""
    lifted: dict[str, set[str]] = {}
    for source, targets in edges.items():
        lifted.setdefault(package_of(source), set()).update(
            package_of(t) for t in targets if package_of(t) != package_of(source)
        )
    return lifted


def violations(
    graph: Graph,
    layers: list[Layer],
    routes: str = ROUTES,
    config: str = CONFIG,
    facades: dict[str, str] | None = None,
) -> list[str]:
    """Everything the rules reject, one line each.

    ``routes`` is the package of the route modules, ``config`` the one module that reads ``[ylai]``,
    ``facades`` maps a package to the one module that other packages may import from it.
    """
    facades = FACADES if facades is None else facades

    def is_route(module: str) -> bool:
        return module.startswith(routes + ".")

    module_cycles = cycles(graph.edges)
    found = [f"module cycle: {' ⇄ '.join(c)}" for c in module_cycles]
    # A cycle of top modules (all of ylai_operators) is a module cycle already: said once.
    found += [f"package cycle: {' ⇄ '.join(c)}" for c in cycles(package_edges(graph.edges)) if c not in module_cycles]
    for module in sorted(graph.edges):
        rank = rank_of(module, layers)
        if rank is None:
            found.append(f"no layer: {module} (add it to the table in docs/architecture.md)")
            continue
        for target in sorted(graph.edges[module]):
            target_rank = rank_of(target, layers)
            if target_rank is not None and target_rank < rank:
                found.append(f"upward edge: {module} ({layers[rank].label}) → {target} ({layers[target_rank].label})")
            if is_route(module) and is_route(target):
                found.append(f"route imports a route: {module} → {target}")
            for package, facade in facades.items():
                inside = module == package or module.startswith(package + ".")
                if not inside and target.startswith(package + ".") and target != facade:
                    found.append(f"past the facade: {module} → {target} (import it from {facade})")
        for package in sorted(graph.external.get(module, ())):
            if package in layers[rank].forbidden:
                found.append(f"forbidden import: {module} ({layers[rank].label}) imports {package}")
    found += [f"private name: {line}" for line in graph.private]
    found += [
        f"[ylai] read outside {config}: {line}" for line in graph.config_reads if not line.startswith(f"{config}:")
    ]
    return found


def dag_file_violations(dags: Path) -> list[str]:
    """Imports of DAG files (what Airflow parses in ``dags/``) other than ylai_operators, Airflow, stdlib."""
    ignored = [
        line.strip().rstrip("/")
        for line in (dags / ".airflowignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    allowed = DAG_IMPORTS | sys.stdlib_module_names
    found = []
    for path in sorted(dags.rglob("*.py")):
        relative = path.relative_to(dags).as_posix()
        if any(relative == p or relative.startswith(p + "/") for p in ignored):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for target, _names, node in _imports(tree, path.stem, False):
            if target.split(".")[0] not in allowed:
                found.append(f"DAG file imports more than ylai_operators: dags/{relative}:{node.lineno} {target}")
    return found


# -- the checks on ylai ------------------------------------------------------------------------


def _ylai() -> tuple[Graph, list[Layer]]:
    graph = build_graph(discover(SOURCE_ROOTS, PACKAGES))
    return graph, parse_layers(ARCHITECTURE_DOC.read_text(encoding="utf-8"))


def test_the_layer_table_covers_the_four_layers() -> None:
    _graph, layers = _ylai()
    labels = [layer.label.split()[0] for layer in layers]
    assert labels == sorted(labels), "rows go from the top layer (1) down"
    assert {label[0] for label in labels} == {"1", "2", "3", "4"}
    for name in ("ylai_plugin.plugin", "ylai_plugin.api", "ylai_plugin.domain", "ylai_plugin.db", "ylai_operators"):
        assert rank_of(name, layers) is not None, name


def test_the_graph_sees_imports_inside_functions() -> None:
    graph, _layers = _ylai()
    # plugin.py imports the app factory inside a function, to stay light in the scheduler.
    assert "ylai_plugin.api.app" in graph.edges["ylai_plugin.plugin"]


def test_ylai_follows_its_layers() -> None:
    graph, layers = _ylai()
    found = violations(graph, layers) + dag_file_violations(DAGS)
    assert not found, f"{len(found)} violation(s) of docs/architecture.md:\n" + "\n".join(found)


# -- the checker itself, on a tiny package ---------------------------------------------------

TINY_DOC = f"""
# Layers
{TABLE_START}
| Layer | Modules | May not import |
|---|---|---|
| 1 top | `tiny.app`, `tiny.cli` | |
| 2 api | `tiny.api`, `tiny.web` | |
| 3 domain | `tiny.domain` | `fastapi` |
| 4 db | `tiny.db`, `tiny.config`, `tiny` | |
{TABLE_END}
"""

TINY = {
    "tiny/__init__.py": "",
    "tiny/app.py": "from tiny.api import routes\nfrom tiny.db import base\nfrom tiny.db.facade import Row\n",
    "tiny/cli.py": "def main():\n    from tiny import app\n",
    "tiny/api/__init__.py": "",
    "tiny/api/routes/__init__.py": "",
    "tiny/api/routes/a.py": "from . import b\n",
    "tiny/api/routes/b.py": "from tiny.domain.service import run\n",
    "tiny/domain/__init__.py": "",
    "tiny/domain/service.py": (
        "from typing import TYPE_CHECKING\n"
        "import fastapi\n"
        "from tiny.db import models as rows\n"
        "if TYPE_CHECKING:\n"
        "    from tiny.db.models import Row\n"
        "def run():\n"
        "    return rows._secret\n"
        "def limit(conf):\n"
        "    return conf.getint('ylai', 'limit', fallback=3)\n"
    ),
    "tiny/config.py": "def limit(conf):\n    return conf.getint('ylai', 'limit', fallback=3)\n",
    "tiny/db/__init__.py": "",
    "tiny/db/models.py": "from tiny.db.base import Base, _hidden\nclass Row(Base): ...\n_secret = 1\n",
    "tiny/db/base.py": "from tiny.db import models\nclass Base: ...\n_hidden = 2\n",
    "tiny/db/upward.py": "def f():\n    from tiny import web\n",
    "tiny/web.py": "",
    "tiny/db/facade.py": "from tiny.db.models import Row\n",
    "tiny/stray.py": "",
}


@pytest.fixture
def tiny(tmp_path: Path) -> Graph:
    for name, text in TINY.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return build_graph(discover([tmp_path], ["tiny"]))


def test_the_checker_reads_every_kind_of_import(tiny: Graph) -> None:
    assert tiny.edges["tiny.cli"] == {"tiny.app"}  # inside a function
    assert tiny.edges["tiny.api.routes.a"] == {"tiny.api.routes.b"}  # relative
    assert tiny.edges["tiny.domain.service"] == {"tiny.db.models"}  # TYPE_CHECKING too
    assert tiny.external["tiny.domain.service"] == {"typing", "fastapi"}


def test_the_checker_reports_each_kind_of_violation(tiny: Graph) -> None:
    layers = parse_layers(TINY_DOC)
    assert [layer.label for layer in layers] == ["1 top", "2 api", "3 domain", "4 db"]
    assert rank_of("tiny.stray", layers) == 3  # covered by `tiny`
    assert rank_of("tiny.db.models", layers) == 3
    found = violations(
        tiny, layers, routes="tiny.api.routes", config="tiny.config", facades={"tiny.db": "tiny.db.facade"}
    )
    assert "module cycle: tiny.db.base ⇄ tiny.db.models" in found
    assert "upward edge: tiny.db.upward (4 db) → tiny.web (2 api)" in found
    assert "route imports a route: tiny.api.routes.a → tiny.api.routes.b" in found
    assert "forbidden import: tiny.domain.service (3 domain) imports fastapi" in found
    assert "private name: tiny.db.models:1 imports tiny.db.base._hidden" in found
    assert "private name: tiny.domain.service:7 uses tiny.db.models._secret" in found
    assert "[ylai] read outside tiny.config: tiny.domain.service:9 conf.getint('ylai', 'limit', fallback=3)" in found
    assert "past the facade: tiny.app → tiny.db.base (import it from tiny.db.facade)" in found
    assert "past the facade: tiny.domain.service → tiny.db.models (import it from tiny.db.facade)" in found
    # Inside the package, and the facade itself, are free.
    assert not [v for v in found if v.startswith("past the facade: tiny.db.")]
    assert not [v for v in found if "package cycle" in v]
    assert len(found) == 9, found


def test_the_checker_reports_package_cycles_and_modules_without_a_layer(tiny: Graph) -> None:
    tiny.edges["tiny.db.models"].add("tiny.domain.service")  # db → domain → db
    without_root = parse_layers(TINY_DOC.replace(", `tiny` |", " |"))
    found = violations(tiny, without_root, routes="tiny.api.routes")
    assert "package cycle: tiny.db ⇄ tiny.domain" in found
    assert "module cycle: tiny.db.base ⇄ tiny.db.models ⇄ tiny.domain.service" in found
    assert "no layer: tiny.stray (add it to the table in docs/architecture.md)" in found
    assert "no layer: tiny (add it to the table in docs/architecture.md)" in found


def test_the_checker_reports_what_a_dag_file_may_not_import(tmp_path: Path) -> None:
    (tmp_path / ".airflowignore").write_text("scripts/\n")
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "job.py").write_text("import pandas\n")  # a script, not a DAG file
    (tmp_path / "good.py").write_text("import json\nfrom airflow.sdk import dag\nfrom ylai_operators import naming\n")
    (tmp_path / "bad.py").write_text("from ylai_plugin.db import models\n")
    assert dag_file_violations(tmp_path) == ["DAG file imports more than ylai_operators: dags/bad.py:1 ylai_plugin.db"]
