"""The command line: help for every command, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from graphfraud.cli import app

runner = CliRunner()


def all_commands(group=None, prefix=()):
    import typer.main

    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from all_commands(cmd, (*prefix, name))


COMMANDS = list(all_commands())


def test_expected_commands_exist():
    assert {("synth",), ("validate",), ("detect",), ("demo",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_of_every_command(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and len(result.output.splitlines()) > 4


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    code = "import sys; from graphfraud.cli import run; sys.argv = ['graphfraud', *sys.argv[1:]]; run()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_error_is_one_line_without_traceback(tmp_path):
    proc = _cli("validate", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr and "not a directory" in proc.stderr


def test_validate_reports_rejects_and_exits_zero(minimal, tmp_path):
    (minimal / "accounts.csv").write_text("account_id\n007\nA2\n007\n", "utf-8")
    report = tmp_path / "rej.csv"
    proc = _cli("validate", str(minimal), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert "1 rejected row(s)" in proc.stdout
    assert "duplicate primary key" in report.read_text("utf-8")


def test_synth_then_detect_writes_a_run(tmp_path):
    data, run = tmp_path / "data", tmp_path / "run"
    assert _cli("synth", str(data), "--accounts", "2000", "--seed", "3").returncode == 0
    assert (data / "truth" / "ring_members.csv").exists()
    proc = _cli("detect", str(data), "--out", str(run), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((run / "manifest.json").read_text("utf-8"))
    assert manifest["seed"] == 3 and manifest["results"]["rings"] >= 1
    assert {"load", "prepare", "candidates", "membership", "evidence"} <= set(manifest["timings_s"])
    assert manifest["complete"] is True and set(manifest["files"]) >= {"rings.csv", "ring_members.csv"}
    assert manifest["inputs"]["reviews"]["sha256"]
    assert "ring(s) flagged" in proc.stdout


def test_bad_parameter_is_a_clear_error(tmp_path, minimal):
    proc = _cli("detect", str(minimal), "--out", str(tmp_path / "r"), "--fdr", "2")
    assert proc.returncode == 2 and "fdr=2.0: must be a rate in (0, 1)" in proc.stderr
