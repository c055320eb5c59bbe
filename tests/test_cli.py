"""The command line: help for every command, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from graphfraud.cli import app

from .conftest import write

runner = CliRunner()


def all_commands(group=None, prefix=()):
    import typer.main

    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        yield (*prefix, name)
        if hasattr(cmd, "commands"):
            yield from all_commands(cmd, (*prefix, name))


COMMANDS = list(all_commands())


def _click(command):
    import typer.main

    cmd = typer.main.get_command(app)
    for name in command:
        cmd = cmd.commands[name]
    return cmd


def test_the_documented_commands_are_the_commands():
    import re

    text = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text("utf-8")
    documented = {tuple(m.split()) for m in re.findall(r"(?m)^#+ `graphfraud (.+)`$", text)}
    assert documented == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_of_every_command_names_every_option(command):
    result = runner.invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    cmd = _click(command)
    assert result.output.startswith(f"Usage: graphfraud {' '.join(command)} ") or result.output.startswith("Usage: ")
    assert cmd.help.splitlines()[0].strip() in " ".join(result.output.split())
    for param in cmd.params:
        for opt in getattr(param, "opts", []):
            if opt.startswith("--"):
                assert opt in result.output, (opt, result.output)


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    code = "import sys; from graphfraud.cli import run; sys.argv = ['graphfraud', *sys.argv[1:]]; run()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_error_is_one_line_without_traceback(tmp_path, entry_point):
    proc = entry_point("validate", str(tmp_path / "nowhere"))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "error:" in proc.stderr and "not a directory" in proc.stderr


def test_validate_reports_rejects_and_exits_zero(minimal, tmp_path, entry_point):
    (minimal / "accounts.csv").write_text("account_id\n007\nA2\n007\n", "utf-8")
    report = tmp_path / "rej.csv"
    proc = entry_point("validate", str(minimal), "--report", str(report))
    assert proc.returncode == 0, proc.stderr
    assert "1 rejected row(s)" in proc.stdout
    assert "duplicate primary key" in report.read_text("utf-8")


@pytest.mark.slow
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


@pytest.mark.slow
def test_bad_parameter_is_a_clear_error(tmp_path, minimal):
    proc = _cli("detect", str(minimal), "--out", str(tmp_path / "r"), "--fdr", "2")
    assert proc.returncode == 2 and "fdr=2.0: must be a rate in (0, 1)" in proc.stderr
    # Parameters fail before the data is read: on a platform export that takes minutes.
    assert "reading" not in proc.stderr, proc.stderr
    proc = _cli("detect", str(minimal), "--out", str(tmp_path / "r"), "--top", "-1")
    assert proc.returncode == 2 and "--top -1: give the number of rings to print" in proc.stderr
    assert "reading" not in proc.stderr and not (tmp_path / "r").exists()
    for level in ("5", "0"):
        proc = _cli("expand", str(minimal), "--out", str(tmp_path / "x"), "--tip", "007", "--level", level)
        assert proc.returncode == 2, proc.stderr
        assert f"level={float(level)}: must be a p-value in (0, 1)" in proc.stderr and "reading" not in proc.stderr


# ---------------------------------------------------------------- the installed entry point
ENTRY = Path(sys.executable).with_name("graphfraud")


def _entry(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the installed ``graphfraud`` console script (what a user's shell runs)."""
    assert ENTRY.exists(), f"the console script is not installed next to {sys.executable}"
    return subprocess.run([str(ENTRY), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("… ")]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line(synth_small, tmp_path):
    """A real SIGINT to the console script: 130, one line, so `detect && export` stops."""
    proc = subprocess.Popen([str(ENTRY), "detect", str(synth_small), "--out", str(tmp_path / "run")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            # A shell's background job may inherit an ignored SIGINT; a terminal's does not.
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = []
    for line in proc.stderr:  # wait until detection is under way
        seen.append(line)
        if "layer" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert [line for line in err.splitlines() if not line.startswith("… ")] == ["interrupted."]


@pytest.mark.slow
def test_errors_and_usage_mistakes_exit_2_through_the_entry_point(tmp_path, minimal):
    proc = _entry("validate", str(tmp_path / "nowhere"))
    assert proc.returncode == 2 and "not a directory" in _one_line_error(proc)
    proc = _entry("detect", str(minimal), "--out", str(tmp_path / "r"), "--time-range", "yesterday")
    assert proc.returncode == 2 and "--time-range 'yesterday'" in _one_line_error(proc)
    proc = _entry("validate")  # missing argument: a usage error, one line too
    assert proc.returncode == 2
    assert _one_line_error(proc) == "error: Missing argument 'data_dir'; see graphfraud validate --help"


USAGE_MISTAKES = [
    (["detect", "data", "--bogus"], "No such option: --bogus (Possible options: --out); see graphfraud detect --help"),
    (["detect", "data"], "Missing option '--out'; see graphfraud detect --help"),
    (["detect", "data", "--out", "r", "--top", "many"],
     "Invalid value for '--top': Input should be a valid integer, unable to parse string as an integer; "
     "see graphfraud detect --help"),
    (["neo4j", "ingest", "--nope"],
     "No such option: --nope (Possible options: --home); see graphfraud neo4j ingest --help"),
    (["detcet"], "No such command 'detcet'. Did you mean 'detect'?; see graphfraud --help"),
    # Click raises these without the subcommand's context; the group supplies it.
    (["detect", "data", "--out"], "Option '--out' requires an argument; see graphfraud detect --help"),
    (["neo4j", "serve", "start", "--home"],
     "Option '--home' requires an argument; see graphfraud neo4j serve start --help"),
    (["export", "run", "--\x1b[2J"], "No such option: --\\x1b[2J; see graphfraud export --help"),  # shown, not obeyed
]


@pytest.mark.parametrize(("args", "message"), USAGE_MISTAKES, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_usage_mistakes_are_one_error_line_with_the_help_to_read(args, message):
    # The README promises one error line: not click's usage block, hint and message.
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and result.stderr == f"error: {message}\n"


def test_graphfraud_warnings_are_one_safe_line_and_others_keep_their_form(capsys):
    import warnings

    from graphfraud import terminal
    from graphfraud.errors import GraphfraudWarning

    def main():
        warnings.warn("the child failed: \x1b[2J[red]boom", GraphfraudWarning, stacklevel=1)
        warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
        return 0

    with warnings.catch_warnings(record=True) as passed_on:
        warnings.simplefilter("always")
        assert terminal.exit_status(main) == 0
    err = capsys.readouterr().err
    assert err == "warning: the child failed: \\x1b[2J[red]boom\n"  # shown, not obeyed
    # Other warnings go where Python's own handler sends them (here: the recorder).
    assert [(w.category, str(w.message)) for w in passed_on] == [(RuntimeWarning, "overflow in exp")]
    assert warnings.showwarning is not terminal._show_warning  # restored after the command


def test_a_usage_mistake_through_the_console_script_is_one_line(tmp_path):
    proc = _cli("detect", str(tmp_path), "--bogus")
    assert proc.returncode == 2 and proc.stdout == ""
    assert _one_line_error(proc) == f"error: {USAGE_MISTAKES[0][1]}"


def test_no_command_shows_the_help():
    result = runner.invoke(app, [])
    assert result.exit_code == 2 and result.output.startswith("Usage: graphfraud ") and "Commands:" in result.output


@pytest.mark.slow
def test_unexpected_errors_exit_1_with_a_summary_and_traceback_only_under_debug(tmp_path, minimal):
    # A bug is simulated by a site hook that breaks the loader inside the installed program.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import graphfraud.ingest as ingest\n"
        "def broken(*a, **k):\n    raise ZeroDivisionError('simulated bug')\n"
        "ingest.load_dataset = broken\n", "utf-8")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    proc = _entry("validate", str(minimal), "--report", str(tmp_path / "r.csv"), env=env)
    assert proc.returncode == 1
    line = _one_line_error(proc)
    assert "unexpected ZeroDivisionError: simulated bug" in line and "--debug" in line
    proc = _entry("--debug", "validate", str(minimal), "--report", str(tmp_path / "r.csv"), env=env)
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr and "simulated bug" in proc.stderr


def test_os_errors_are_one_line(tmp_path, minimal, entry_point):
    (tmp_path / "report-is-a-dir").mkdir()
    proc = entry_point("validate", str(minimal), "--report", str(tmp_path / "report-is-a-dir"))
    assert proc.returncode == 1
    assert "report-is-a-dir" in (line := _one_line_error(proc)) and "is a directory" in line.lower()


@pytest.mark.slow
def test_markup_and_escapes_from_the_data_are_printed_not_obeyed(minimal):
    (minimal / "merchants.csv").write_text("[/oops],[bold]x,a\x1b[31mred\x1b]0;title\x07b\nm1,a,b\n", "utf-8")
    proc = _entry("validate", str(minimal))
    assert proc.returncode == 2
    line = _one_line_error(proc)
    assert "header has: [/oops], [bold]x, a\\x1b[31mred\\x1b]0;title\\x07b" in line
    assert "\x1b" not in proc.stderr + proc.stdout and "\x07" not in proc.stderr
    # File names are data too (an export may carry any name).
    (minimal / "merchants.csv").write_text("merchant_id\nm1\nm2\n", "utf-8")
    (minimal / "notes[red]\x1b[2J.txt").write_text("x", "utf-8")
    proc = _entry("validate", str(minimal), "--report", str(minimal.parent / "rej.csv"))
    assert proc.returncode == 0, proc.stderr
    assert "notes[red]\\x1b[2J.txt" in proc.stdout and "\x1b" not in proc.stdout


@pytest.mark.slow
def test_validate_calls_data_usable_only_when_it_is(minimal, tmp_path):
    report = tmp_path / "rej.csv"
    proc = _entry("validate", str(minimal), "--report", str(report))
    assert proc.returncode == 0 and "data is usable." in proc.stdout
    # Every review points at an unknown account: nothing left to detect on.
    (minimal / "reviews.csv").write_text("review_id,account_id,merchant_id,rating,created_at\n"
                                         "r1,ghost,m1,5,2024-03-01\nr2,ghost,m1,5,2024-03-01\n", "utf-8")
    proc = _entry("validate", str(minimal), "--report", str(report))
    assert proc.returncode == 2 and "data is usable" not in proc.stdout
    assert "the data is not usable: reviews: all 2 row(s) rejected" in _one_line_error(proc)
    assert "unknown account" in report.read_text("utf-8")
    proc = _entry("detect", str(minimal), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2 and "reviews: all 2 row(s) rejected" in _one_line_error(proc)
    # A fifth of the reviews rejected: a warning with the share, not "usable".
    (minimal / "reviews.csv").write_text("review_id,account_id,merchant_id,rating,created_at\n" + "".join(
        f"r{i},007,m1,5,2024-03-01\n" for i in range(4)) + "r4,ghost,m1,5,2024-03-01\n", "utf-8")
    proc = _entry("validate", str(minimal), "--report", str(report))
    assert proc.returncode == 0 and "data is usable." not in proc.stdout
    said = " ".join(proc.stderr.split())  # the console wraps long lines
    assert "warning: reviews: 20.0% of 5 row(s) rejected (more than 10%), most often: unknown account (1)" in said
    # detect says the same after its run: the rings rest on what was accepted.
    proc = _entry("detect", str(minimal), "--out", str(tmp_path / "run2"))
    said = " ".join(proc.stderr.split())
    assert proc.returncode == 0, proc.stderr
    assert "1 input row(s) rejected" in said and "most often: unknown account (1)" in said


@pytest.mark.slow
def test_rejects_report_is_safe_to_open_in_a_spreadsheet(minimal, tmp_path):
    import polars as pl

    from graphfraud.textsafe import restore_cells

    (minimal / "accounts.csv").write_text("account_id\n007\nA2\n=HYPERLINK(\"http://x\")\n@SUM(1)\n"
                                          "=HYPERLINK(\"http://x\")\n", "utf-8")
    report = tmp_path / "rej.csv"
    assert _entry("validate", str(minimal), "--report", str(report)).returncode == 0
    cells = pl.read_csv(report, infer_schema=False)
    assert cells["value"].to_list() == ["'=HYPERLINK(\"http://x\")"]
    assert not any(v[:1] in "=+-@" for v in cells.to_dict(as_series=False)["value"])
    assert restore_cells(cells)["value"].to_list() == ["=HYPERLINK(\"http://x\")"]


def test_detect_names_the_files_it_did_not_read_and_how_to_fix_them(minimal, tmp_path, entry_point):
    # A Windows export's Orders.CSV would otherwise leave detection without orders, silently.
    write(minimal, "Orders.CSV", "order_id,account_id,merchant_id,created_at\no1,007,m1,2024-03-01 09:00:00\n")
    write(minimal, "notes\x1b[2J.txt", "not data\n")
    proc = entry_point("detect", str(minimal), "--out", str(tmp_path / "run"))
    assert proc.returncode == 0, proc.stderr
    assert "Orders.CSV: not read; rename it to orders.csv" in proc.stderr, proc.stderr
    assert "not the name of a table of the data contract" in proc.stderr
    assert "\x1b" not in proc.stderr + proc.stdout  # a file name is data too
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text("utf-8"))
    assert manifest["ignored_files"] == {"Orders.CSV": "rename it to orders.csv",
                                         "notes\x1b[2J.txt": "not the name of a table of the data contract"}


def test_detect_reports_progress_inside_stages_and_the_columns_it_skipped(market_2k, tmp_path, entry_point):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(market_2k, data, ignore=shutil.ignore_patterns("truth"))
    merchants = pl.read_csv(data / "merchants.csv", infer_schema=False)
    merchants.with_columns(pl.lit("华东").alias("region")).write_csv(data / "merchants.csv")
    proc = entry_point("detect", str(data), "--out", str(tmp_path / "run"), "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    # Not a terminal: a line at each quarter of a counted stage, the last one at its total.
    for line in ("… layers: 5 of 5 layers", "… candidates: 5 of 5 views", "… membership: 8 of 8 steps"):
        assert line in proc.stderr, proc.stderr
    assert "merchants.csv: 1 column(s) outside the contract not read (region)" in proc.stderr
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text("utf-8"))
    assert manifest["inputs"]["merchants"]["unread_columns"] == ["region"]
