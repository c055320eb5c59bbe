"""The ``graphfraud`` command line: a thin layer over the library API.

Nothing imports this module. Errors derived from ``GraphfraudError`` are caught once,
printed as one line, and turned into a non-zero exit without a traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table as RichTable

from . import __version__
from .errors import GraphfraudError
from .ingest import DEFAULT_TZ, load_dataset
from .ingest.read import ENCODINGS

console = Console(stderr=True)
out = Console()

app = typer.Typer(
    name="graphfraud",
    help="Find collusion rings behind fake orders and fake reviews (刷单炒信).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

EncodingOpt = typer.Option("auto", "--encoding", help=f"Input encoding: {', '.join(ENCODINGS)} (auto = UTF-8, else GB18030).")
TzOpt = typer.Option(DEFAULT_TZ, "--tz", help="IANA time zone for timestamps without an offset.")


def _version(value: bool) -> None:
    if value:
        out.print(f"graphfraud {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Find collusion rings behind fake orders and fake reviews (刷单炒信)."""


def _progress(message: str) -> None:
    console.print(f"[dim]… {message}[/dim]")


@app.command()
def synth(
    out_dir: Path = typer.Argument(..., help="Directory to write the tables and truth/ into."),
    accounts: int = typer.Option(20_000, "--accounts", help="Background accounts (rings come on top)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives identical files."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or jsonl."),
) -> None:
    """Generate a synthetic marketplace with planted rings and ground truth."""
    from .export.tables import write_tables
    from .synth import synthesize

    t0 = time.perf_counter()
    _progress(f"synthesising {accounts:,} accounts (seed {seed})")
    result = synthesize(accounts, seed=seed)
    write_tables(result.tables, out_dir, fmt)
    write_tables({"ring_members": result.ring_members, "benign_groups": result.benign_groups},
                 out_dir / "truth", "csv")
    rows = ", ".join(f"{k} {v.height:,}" for k, v in result.tables.items())
    out.print(f"wrote {out_dir} in {time.perf_counter() - t0:.1f}s: {rows}")
    out.print(f"truth: {result.ring_members['ring_id'].n_unique()} rings "
              f"({result.ring_members.height:,} accounts), {result.benign_groups['group_id'].n_unique()} "
              f"benign look-alike groups → {out_dir / 'truth'}")


@app.command()
def validate(
    data_dir: Path = typer.Argument(..., help="Directory with accounts, merchants, reviews, … files."),
    report: Path = typer.Option(Path("graphfraud-rejects.csv"), "--report", help="Where to write rejected rows."),
    encoding: str = EncodingOpt,
    tz: str = TzOpt,
) -> None:
    """Check input files against the data contract and report every rejected row."""
    result = load_dataset(data_dir, encoding=encoding, tz=tz, progress=_progress)
    table = RichTable(title=f"validation of {data_dir}")
    for col in ("table", "file", "encoding", "read", "accepted", "rejected", "reasons"):
        table.add_column(col, justify="right" if col in ("read", "accepted", "rejected") else "left")
    for t in result.report.tables:
        reasons = "; ".join(f"{r}: {n:,}" for r, n in sorted(t.rejected_by_reason.items())) or "-"
        table.add_row(t.table, t.file, t.encoding, f"{t.read:,}", f"{t.accepted:,}", f"{t.rejected:,}", reasons)
    out.print(table)
    if result.report.ignored_files:
        out.print(f"ignored (not a contract table): {', '.join(result.report.ignored_files)}")
    path = result.report.write_rejects(report)
    n = result.report.n_rejected
    out.print(f"{n:,} rejected row(s); report: {path}" if n else f"no rejected rows; empty report: {path}")
    out.print("data is usable.")


def run() -> None:
    """Entry point that turns GraphfraudError into a one-line message and exit code 2."""
    try:
        app(standalone_mode=False)
    except GraphfraudError as exc:
        console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Abort:
        console.print("aborted.")
        sys.exit(130)
    except Exception as exc:  # click usage errors come here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.Exit):
            sys.exit(exc.exit_code)
        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
