"""The docs match the code: CLI reference current, and every example runs."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import live_neo4j_exclusive

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


#: How docs/cli.md is made: Typer's own generator (also in docs/cli.md's first lines).
CLI_DOCS = [sys.executable, "-m", "typer", "graphfraud.cli", "utils", "docs", "--name", "graphfraud"]


def test_cli_reference_is_current_and_complete(tmp_path):
    from .test_cli import COMMANDS

    text = (ROOT / "docs" / "cli.md").read_text("utf-8")
    subprocess.run([*CLI_DOCS, "--output", str(tmp_path / "cli.md")], capture_output=True, check=True, cwd=ROOT)
    generated = (tmp_path / "cli.md").read_text("utf-8")
    assert text == generated, ("docs/cli.md is stale: run 'uv run typer graphfraud.cli utils docs --name graphfraud "
                               "--output docs/cli.md'")
    for command in COMMANDS:
        leaf = "graphfraud " + " ".join(command)
        section = text.split(f"## `{leaf}`", 1)
        assert len(section) == 2, f"{leaf} is not documented"
        body = section[1].split("\n## ", 1)[0]
        assert len(body.strip().splitlines()[0]) > 10, f"{leaf} has no help text"


def _examples(path: Path) -> list[tuple[str, str]]:
    return [(lang, code) for lang, code in BLOCK.findall(path.read_text("utf-8"))]


def _needs_neo4j(line: str) -> bool:
    return " neo4j " in f" {line} " or "--neo4j" in line or "--source neo4j" in line


def _run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    code = "import sys; from graphfraud.cli import run; sys.argv = ['graphfraud', *sys.argv[1:]]; run()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900, env={**os.environ, "GRAPHFRAUD_REDACT_KEY": "docs-example"})


@pytest.mark.slow
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_example_runs(doc, market_2k, tmp_path):
    places = {"DATA_DIR": str(market_2k), "RUN_DIR": str(tmp_path / "run"), "CASES_DIR": str(tmp_path / "cases")}
    ran = 0
    with contextlib.ExitStack() as held:
        for lang, code in _examples(doc):
            for key, value in places.items():
                code = code.replace(f'"{key}"', repr(value)).replace(key, value)
            if lang == "python":
                exec(compile(code, f"{doc.name}:example", "exec"), {})
                ran += 1
                continue
            for line in code.splitlines():
                line = line.split("  #", 1)[0].strip()
                if not line.startswith("uv run graphfraud"):
                    continue  # docker, cp, export, read: set-up steps, not graphfraud
                if line.startswith("uv run graphfraud neo4j serve"):
                    continue  # .ci/run starts and stops the server with these very commands
                if "--bulk" in line:
                    continue  # stops and restarts a local server: tests/test_neo4j_restart.py runs it on its own
                if _needs_neo4j(line):
                    if not os.environ.get("NEO4J_URI"):
                        continue  # covered by the live tests when a Neo4j is reachable
                    # From here on the examples use the live database the Neo4j tests clear and fill.
                    held.enter_context(live_neo4j_exclusive())
                proc = _run_cli(shlex.split(line)[3:], tmp_path)
                assert proc.returncode == 0, f"{doc.name}: `{line}` failed:\n{proc.stderr[-2000:]}"
                ran += 1
    if doc.name == "README.md":
        assert ran >= 5, "the README's demo, validate, detect, export and Python examples must all run"


def _ring_type_labels() -> set[str]:
    """Every label ``ring_type`` can return, read from its return statements."""
    import ast
    import inspect

    from graphfraud.detect import typology

    tree = ast.parse(inspect.getsource(typology.ring_type))
    return {node.value.elts[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Return) and isinstance(node.value, ast.Tuple)
            and isinstance(node.value.elts[0], ast.Constant)}


@pytest.mark.parametrize("doc, marker", [("README.md", "**Ring types.**"), ("docs/concepts.md", "**Types**")])
def test_the_docs_name_every_ring_type(doc, marker):
    labels = _ring_type_labels()
    assert len(labels) >= 10, labels
    paragraph = (ROOT / doc).read_text("utf-8").split(marker, 1)[1].split("\n\n", 1)[0]
    paragraph = " ".join(paragraph.split())
    missing = sorted(label for label in labels if label not in paragraph)
    assert not missing, f"{doc} does not name the ring type(s) {missing}"
