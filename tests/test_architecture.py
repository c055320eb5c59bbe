"""The house rules, checked on the source: layers with one import direction, no circles,
nothing imports the CLI, one declaration per concept."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "graphfraud"

#: Layers, lowest first. A module may import its own layer and the layers below it only.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ground", ("graphfraud._version", "graphfraud.arrays", "graphfraud.errors", "graphfraud.parse", "graphfraud.rss",
                "graphfraud.textsafe", "graphfraud.threads", "graphfraud.contract", "graphfraud.schema")),
    ("model", ("graphfraud.dataset",)),
    ("core", ("graphfraud.graph", "graphfraud.detect", "graphfraud.evaluate", "graphfraud.synth", "graphfraud.lineage",
              "graphfraud.stream")),
    ("io", ("graphfraud.ingest", "graphfraud.run", "graphfraud.export", "graphfraud.neo4j")),
    ("jobs", ("graphfraud.pipeline", "graphfraud.workflow")),
    ("cli", ("graphfraud.cli", "graphfraud.terminal")),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """graphfraud modules imported by ``path``, at any depth (lazy imports count too)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            out.update(n for n in [target, *names] if n.startswith("graphfraud"))
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("graphfraud"))
    return out


MODULES = {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _layer(module: str) -> int:
    best, rank = -1, -1
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    return rank


def test_every_module_has_a_layer():
    unplaced = [m for m in MODULES if m != "graphfraud" and _layer(m) < 0]
    assert unplaced == [], f"place these modules in a layer of tests/test_architecture.py: {unplaced}"


@pytest.mark.parametrize("module", [m for m in MODULES if m != "graphfraud"])
def test_imports_only_point_down(module):
    own = _layer(module)
    for target in _imports(MODULES[module]):
        if target in MODULES or any(target.startswith(m + ".") for m in MODULES):
            resolved = max((m for m in MODULES if target == m or target.startswith(m + ".")), key=len)
            if resolved == "graphfraud":
                continue  # the lazy package namespace itself
            assert _layer(resolved) <= own, (f"{module} ({LAYERS[own][0]}) imports {resolved} "
                                             f"({LAYERS[_layer(resolved)][0]}): arrows must point down")


def test_nothing_imports_the_cli():
    for module, path in MODULES.items():
        if module.startswith("graphfraud.cli"):
            continue
        assert not any(t == "graphfraud.cli" or t.startswith("graphfraud.cli.") for t in _imports(path)), module


def _top_level_imports(module: str, path: Path) -> set[str]:
    """graphfraud modules imported when ``module`` is imported (its top-level statements)."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    deps = set()
    for node in ast.parse(path.read_text("utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            deps.update(c for c in [target, *(f"{target}.{a.name}" for a in node.names)] if c in MODULES)
        elif isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name in MODULES)
    return deps - {module}


def test_no_import_cycles_at_module_level():
    """Top-level imports (the ones that run at import time) form no circle."""
    graph = {m: _top_level_imports(m, p) for m, p in MODULES.items()}
    done: set[str] = set()
    stack: list[str] = []

    def visit(m: str) -> None:
        if m in stack:
            pytest.fail("import cycle: " + " -> ".join([*stack[stack.index(m):], m]))
        if m in done:
            return
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if not d.startswith(m + "."):  # a package importing its own submodules is no circle
                visit(d)
        stack.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


KIND_WORDS = ("device", "payment", "address", "phone", "ip")


def test_identifier_kinds_are_declared_once():
    """A tuple/list/dict literal naming several identifier kinds outside schema.py is a second declaration."""
    offenders = []
    for module, path in MODULES.items():
        if module == "graphfraud.schema":
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
                values = node.keys if isinstance(node, ast.Dict) else node.elts
                words = {v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
                if len(words & set(KIND_WORDS)) >= 3:
                    offenders.append(f"{module}:{node.lineno}")
    assert offenders == [], f"identifier kinds listed outside graphfraud/schema.py: {offenders}"


def test_default_time_zone_is_declared_once():
    hits = [f"{m}" for m, p in MODULES.items() if m != "graphfraud.contract"
            and re.search(r"[\"']Asia/Shanghai[\"']", p.read_text("utf-8"))]
    assert hits == [], f"the default time zone is spelled out again in {hits}; use contract.DEFAULT_TZ"


def test_validating_and_reading_runs_import_no_graph_library(minimal, tmp_path):
    """`graphfraud validate` and reading a run pay only for the table libraries: igraph (and the
    plotting library it pulls in when installed) is for detection and case-file layout."""
    import subprocess
    import sys

    code = ("import sys; from graphfraud.cli import run; sys.argv = ['graphfraud', 'validate', sys.argv[1], "
            "'--report', sys.argv[2]]\n"
            "try:\n    run()\nexcept SystemExit as done:\n    assert done.code == 0, done.code\n"
            "from graphfraud.run import RunResult\n"
            "print(sorted(m for m in ('igraph', 'leidenalg', 'scipy', 'matplotlib', 'neo4j') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, str(minimal), str(tmp_path / "rejects.csv")],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr
