"""The ``graphfraud`` command line: a thin layer over the library API.

Nothing imports this module. How a command ends (errors, Ctrl-C, exit codes) and how
text from the data is made safe to print is :mod:`graphfraud.terminal`'s job.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import typer
from rich.table import Table as RichTable
from typer.core import TyperGroup

from . import terminal
from ._version import __version__
from .contract import DEFAULT_TZ, ENCODINGS, EPOCH_UNITS
from .terminal import console, safe, stdout
from .textsafe import excerpt

if TYPE_CHECKING:  # annotations only: --help must not import polars, igraph or the driver
    import polars as pl

    from .detect.detector import RingDetector
    from .ingest.follow import FollowStats
    from .ingest.load import LoadReport
    from .neo4j.gateway import DriverGateway
    from .neo4j.local import LocalServer
    from .neo4j.settings import Settings
    from .run import RunResult
    from .stream.alerts import Alert


class _Group(TyperGroup):
    """A command group whose subcommands' usage errors name the subcommand.

    Click raises some parser errors ("Option '--out' requires an argument") without the
    context they arose in, and the one-line message would then point at the top-level
    ``--help``; the group knows which subcommand it was parsing.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Typer ships its own click: its classes are known by name (as in terminal.py).
            name = ctx.invoked_subcommand
            usage = any(cls.__name__ == "UsageError" for cls in type(exc).__mro__)
            cmd = self.get_command(ctx, name) if usage and getattr(exc, "ctx", None) is None and name else None
            if cmd is not None:
                exc.ctx = type(ctx)(cmd, info_name=name, parent=ctx)  # type: ignore[attr-defined]
            raise


class _Commands(_Group):
    """The command group. Run standalone (as typer's ``CliRunner`` runs it), it ends the way
    the console script does: :func:`graphfraud.terminal.exit_status`, not click's own handler."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, windows_expand_args: bool = True, **extra: Any) -> Any:
        def main() -> Any:
            return super(_Commands, self).main(args, prog_name, complete_var, False, windows_expand_args, **extra)

        return main() if not standalone_mode else sys.exit(terminal.exit_status(main))


app = typer.Typer(
    cls=_Commands,
    name="graphfraud",
    help="Find collusion rings behind fake orders and fake reviews (刷单炒信).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: Rich's help renderer imports its Markdown stack (0.3 s) on every --help.
    rich_markup_mode=None,
)

EncodingOpt = typer.Option("auto", "--encoding",
                           help=f"Input encoding: {', '.join(ENCODINGS)} (auto = UTF-8, else GB18030).")
TzOpt = typer.Option(DEFAULT_TZ, "--tz", help="IANA time zone for timestamps without an offset.")
EpochUnitOpt = typer.Option("auto", "--epoch-unit",
                            help=f"Unit of numeric timestamps: {', '.join(EPOCH_UNITS)} (auto = from their magnitude).")
TimeRangeOpt = typer.Option(None, "--time-range", help="Accepted timestamps START..END (ISO dates, UTC); rows outside "
                                                       "are rejected. Default 2000-01-01..(now + 1 day).")


def _version(value: bool) -> None:
    if value:
        stdout.print(f"graphfraud {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit."),
         debug: bool = typer.Option(False, "--debug", help="Show the full traceback of unexpected errors.")) -> None:
    """Find collusion rings behind fake orders and fake reviews (刷单炒信)."""
    terminal.set_debug(debug)


def _progress(message: str) -> None:
    console.print(f"[dim]… {safe(message)}[/dim]")


#: Wall seconds per stage of the 1M-account run in docs/benchmarks.md: the bar advances by
#: these shares, so its ETA is the measured cost profile scaled to this run's own pace.
#: Reading every file counts as one stage; an unlisted stage (a message between stages,
#: such as reading from Neo4j) as 0.3 s (2026-12-08, ``benchmarks/scale.py --sizes 1000000``).
_STAGE_SECONDS = {"reading": 12.5, "prepare": 23.0, "platform": 6.2, "layers": 9.8, "candidates": 12.8,
                  "membership": 30.0, "test outcomes and ties": 10.8, "test text": 12.3,
                  "resolve rings": 10.5, "evidence": 6.1}
_OTHER_STAGE_S, _OTHER_STAGES = 0.3, 2


def _quarters() -> Callable[[str, int, int, str], None]:
    """Counts inside a stage as lines, at each quarter of the stage (logs, not terminals)."""
    said: dict[str, int] = {}

    def count(stage: str, done: int, total: int, unit: str) -> None:
        quarter = 4 * done // max(total, 1)
        if done and quarter > said.get(stage, 0):
            said[stage] = quarter
            _progress(f"{stage}: {done:,} of {total:,} {unit}")

    return count


@contextlib.contextmanager
def _stage_bar() -> Iterator[tuple[Callable[[str], None], Callable[[str, int, int, str], None]]]:
    """Progress callbacks (stage started; counts inside a stage): a bar with ETA on a terminal,
    lines otherwise (one per stage, and one per quarter of a counted stage)."""
    if not console.is_terminal:
        yield _progress, _quarters()
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    total = sum(_STAGE_SECONDS.values()) + _OTHER_STAGE_S * _OTHER_STAGES
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), TextColumn("ETA"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("starting", total=total)
        running: list[str] = []
        finished = [0.0]  # bar share of the stages done

        def advance(message: str) -> None:
            stage = "reading" if message.startswith("reading ") else message
            if running and running[0] != stage:
                finished[0] += _STAGE_SECONDS.get(running[0], _OTHER_STAGE_S)
                running.clear()
            running[:] = [stage]
            bar.update(task, completed=finished[0], description=safe(message))

        def count(stage: str, done: int, total: int, unit: str) -> None:
            # The running stage's share of the bar, advanced by its own counts: the ETA
            # moves inside a long stage instead of waiting for its end.
            if running and running[0] == stage and total > 0:
                part = _STAGE_SECONDS.get(stage, _OTHER_STAGE_S) * min(done, total) / total
                bar.update(task, completed=finished[0] + part,
                           description=safe(f"{stage}: {done:,}/{total:,} {unit}"))

        yield advance, count


@app.command()
def synth(
    out_dir: Path = typer.Argument(..., help="Directory to write the tables and truth/ into."),
    accounts: int = typer.Option(20_000, "--accounts", help="Background accounts (rings come on top)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives identical files."),
    fmt: str = typer.Option("csv", "--format", help="csv, parquet or jsonl."),
    zoo: bool = typer.Option(False, "--zoo", help="The tactic zoo: 10 tactic and 13 look-alike families."),
    review_only: bool = typer.Option(False, "--review-only", help="The zoo with accounts, merchants, reviews only."),
) -> None:
    """Generate a synthetic marketplace with planted rings and ground truth."""
    from .export.tables import write_tables
    from .synth import synthesize
    from .synth.zoo import synthesize_zoo

    t0 = time.perf_counter()
    zoo = zoo or review_only
    _progress(f"synthesising {accounts:,} accounts (seed {seed}){' as a tactic zoo' if zoo else ''}")
    result = synthesize_zoo(accounts, seed=seed, review_only=review_only) if zoo else synthesize(accounts, seed=seed)
    write_tables(result.tables, out_dir, fmt)
    write_tables({"ring_members": result.ring_members, "benign_groups": result.benign_groups},
                 out_dir / "truth", "csv")
    rows = ", ".join(f"{k} {v.height:,}" for k, v in result.tables.items())
    stdout.print(f"wrote {out_dir} in {time.perf_counter() - t0:.1f}s: {rows}")
    stdout.print(f"truth: {result.ring_members['ring_id'].n_unique()} rings "
              f"({result.ring_members.height:,} accounts), {result.benign_groups['group_id'].n_unique()} "
              f"benign look-alike groups → {out_dir / 'truth'}")


@app.command()
def validate(
    data_dir: Path = typer.Argument(..., help="Directory with accounts, merchants, reviews, … files."),
    report: Path = typer.Option(Path("graphfraud-rejects.csv"), "--report", help="Where to write rejected rows."),
    encoding: str = EncodingOpt,
    tz: str = TzOpt,
    epoch_unit: str = EpochUnitOpt,
    time_range: str | None = TimeRangeOpt,
) -> None:
    """Check input files against the data contract and report every rejected row."""
    from .ingest import load_dataset

    result = load_dataset(data_dir, encoding=encoding, tz=tz, epoch_unit=epoch_unit, time_range=time_range,
                          progress=_progress)
    table = RichTable(title=f"validation of {safe(data_dir)}")
    for col in ("table", "file", "encoding", "read", "accepted", "rejected", "reasons"):
        table.add_column(col, justify="right" if col in ("read", "accepted", "rejected") else "left")
    for t in result.report.tables:
        reasons = "; ".join(f"{r}: {n:,}" for r, n in sorted(t.rejected_by_reason.items())) or "-"
        table.add_row(t.table, safe(t.file), t.encoding, f"{t.read:,}", f"{t.accepted:,}", f"{t.rejected:,}",
                      safe(reasons))
    stdout.print(table)
    if result.report.ignored_files:
        stdout.print(f"ignored (not a contract table): {safe(', '.join(result.report.ignored_files))}")
    stdout.print(f"accepted time range: {result.report.time_range} (--time-range)", highlight=False)
    path = result.report.write_rejects(report)
    n = result.report.n_rejected
    stdout.print(f"{n:,} rejected row(s); report: {safe(path)}" if n
                 else f"no rejected rows; empty report: {safe(path)}")
    from .pipeline import require_rows

    require_rows(result.report, f"See the rejected rows in {path}.")
    if _warn_rejected(result.report):
        console.print("[yellow]the data is usable only with care: check the rejected rows before detecting.[/yellow]")
    else:
        stdout.print("data is usable.")


def _warn_rejected(report: LoadReport) -> bool:
    """Warn of every table that lost more than the usable share of its rows, with the
    commonest reason; whether any did."""
    from .contract import USABLE_REJECT_SHARE

    _, warnings = report.problems()
    for w, t in zip(warnings, report.lossy(), strict=True):
        reason, n = t.commonest_reason
        console.print(f"[yellow]warning: {safe(w)} (more than {USABLE_REJECT_SHARE:.0%}), most often: "
                      f"{safe(reason)} ({n:,})[/yellow]")
    return bool(warnings)


FdrOpt = typer.Option(0.01, "--fdr", help="False discovery rate: the expected share of flagged rings that are not "
                                         "rings (Benjamini-Hochberg over groups of near-duplicate candidates, then "
                                         "inside the groups selected).")


def _detector(seed: int, fdr: float, resolution: float) -> RingDetector:
    from .detect.detector import RingDetector

    return RingDetector(seed=seed, fdr=fdr, resolution=resolution)


def _ring_table(rings: pl.DataFrame, limit: int, title: str) -> RichTable:
    table = RichTable(title=title, show_lines=True)
    justify: tuple[tuple[str, Literal["left", "right"]], ...] = (
        ("#", "right"), ("ring", "left"), ("type", "left"), ("evidence", "right"), ("accounts", "right"),
        ("top reasons", "left"))
    for col, just in justify:
        table.add_column(col, justify=just, overflow="fold")
    for i, row in enumerate(rings.head(limit).iter_rows(named=True), 1):
        top = "\n".join((row["reasons"] or "").split("; ")[:3])
        table.add_row(str(i), safe(row["ring_id"]), safe(row["ring_type"]), f"{row['evidence']:.1f}",
                      str(row["n_accounts"]), safe(top))
    return table


def _check_top(top: int) -> None:
    """Refuse a negative ``--top`` before the work: ``head`` would drop the last rings instead."""
    if top < 0:
        raise typer.BadParameter(f"--top {top}: give the number of rings to print, 0 or more")


def _print_run(run: RunResult, top: int, fdr: float, out: Path) -> None:
    rings = run.rings
    if rings.height:
        stdout.print(_ring_table(rings, top, f"{rings.height} ring(s) flagged at FDR {fdr}"))
    else:
        stdout.print(f"no ring reached FDR {fdr}; {run.candidates.height} candidate(s) with an outcome effect "
                     f"in {safe(out / 'candidates.csv')}")
    total = sum(v for v in run.manifest.get("timings_s", {}).values() if isinstance(v, (int, float)))
    stdout.print(f"results in {safe(out)}: rings.csv, ring_members.csv, candidates.csv, evidence/, rejects.csv, "
                 f"manifest.json  ({total:.1f}s)")


def _note_unread(run: RunResult) -> None:
    """Name the input files and columns detection did not read (outside the contract)."""
    for name, hint in run.manifest.get("ignored_files", {}).items():
        console.print(f"[yellow]{safe(name)}: not read; {safe(hint)}[/yellow]")
    for source in run.manifest.get("inputs", {}).values():
        if source.get("unread_columns"):
            names = ", ".join(source["unread_columns"])
            console.print(f"[dim]{safe(source['file'])}: {len(source['unread_columns'])} column(s) outside the "
                          f"contract not read ({safe(excerpt(names))}); 'graphfraud validate' checks them[/dim]")


@app.command()
def detect(
    data_dir: Path | None = typer.Argument(None, help="Directory with the input tables (not with --source neo4j)."),
    out: Path = typer.Option(..., "--out", help="Directory for rings.csv, ring_members.csv, evidence/, manifest.json."),
    seed: int = typer.Option(0, "--seed", help="Seed for Leiden and sampling; same input + seed = same rings."),
    fdr: float = FdrOpt,
    resolution: float = typer.Option(1.0, "--resolution", help="Leiden resolution of the candidate generators."),
    encoding: str = EncodingOpt,
    tz: str = TzOpt,
    epoch_unit: str = EpochUnitOpt,
    time_range: str | None = TimeRangeOpt,
    top: int = typer.Option(10, "--top", help="Rings to print."),
    source: str = typer.Option("files", "--source", help="Read the data from 'files' (DATA_DIR) or 'neo4j'."),
    neo4j: bool = typer.Option(False, "--neo4j", help="Also write the rings back to Neo4j (NEO4J_* variables)."),
    previous: Path | None = typer.Option(None, "--previous",
                                         help="An earlier run: rings that overlap one of its rings keep its id."),
    engine: str = typer.Option("igraph", "--engine",
                               help="Community step of the candidate generators: 'igraph' (in process) or 'gds' "
                                    "(Leiden in Neo4j's Graph Data Science; with --source neo4j)."),
) -> None:
    """Find collusion rings in DATA_DIR and write them, with their evidence, to --out."""
    from .pipeline import detect_files, detect_neo4j

    _check_top(top)
    if source not in ("files", "neo4j"):
        raise typer.BadParameter(f"--source {source!r}: use 'files' or 'neo4j'")
    if engine not in ("igraph", "gds"):
        raise typer.BadParameter(f"--engine {engine!r}: use 'igraph' or 'gds'")
    if engine == "gds" and source != "neo4j":
        raise typer.BadParameter("--engine gds runs in Neo4j: add --source neo4j (load the data first with "
                                 "'graphfraud neo4j ingest DATA_DIR')")
    det = _detector(seed, fdr, resolution)
    push_to = _neo4j_settings() if neo4j and source == "files" else None
    if source == "neo4j":
        with _gateway() as gw, _stage_bar() as (progress, counts):
            if engine == "gds":
                from .neo4j.gds import GdsLeiden

                det.set_params(communities=GdsLeiden(gw))
            run = detect_neo4j(gw, out, detector=det, tz=tz, progress=progress, counts=counts)
    else:
        if data_dir is None:
            raise typer.BadParameter("give DATA_DIR, or --source neo4j to read the data from Neo4j")
        with _stage_bar() as (progress, counts):
            run = detect_files(data_dir, out, detector=det, encoding=encoding, tz=tz, progress=progress, counts=counts,
                               previous=previous, epoch_unit=epoch_unit, time_range=time_range)
        if run.rejects.height:
            console.print(f"[yellow]{run.rejects.height:,} input row(s) rejected; "
                          f"see {safe(out / 'rejects.csv')}[/yellow]")
            from .ingest.load import LoadReport

            if run.manifest.get("validation") and _warn_rejected(
                    LoadReport.from_dict(run.manifest["validation"], run.rejects)):
                console.print("[yellow]the rings rest on the rows accepted: check the rejected ones.[/yellow]")
        _note_unread(run)
    if neo4j:
        _push(run, push_to)
    _print_run(run, top, fdr, out)


@app.command()
def demo(
    out: Path = typer.Option(Path("graphfraud-demo"), "--out", help="Where to leave data, results and evaluation."),
    accounts: int = typer.Option(20_000, "--accounts", help="Background accounts of the synthetic marketplace."),
    seed: int = typer.Option(0, "--seed", help="Seed for synthesis and detection."),
    top: int = typer.Option(10, "--top", help="Rings to print."),
) -> None:
    """Synthesise a marketplace, detect rings, and score them against the planted truth."""
    from .pipeline import demo as run_demo

    _check_top(top)
    with _stage_bar() as (progress, counts):
        result = run_demo(out, accounts=accounts, seed=seed, progress=progress, counts=counts)
    _print_run(result.run, top, 0.01, out / "run")
    ev = result.evaluation
    table = RichTable(title="against the planted truth (a ring is found at Jaccard ≥ 0.5)")
    for col in ("ring kind", "rings", "found", "ring recall", "account recall"):
        table.add_column(col)
    for r in ev.per_kind.iter_rows(named=True):
        table.add_row(r["ring_kind"], str(r["rings"]), str(r["rings_found"]), f"{r['ring_recall']:.2f}",
                      f"{r['account_recall']:.2f}")
    stdout.print(table)
    stdout.print(f"accounts: precision {ev.account_precision:.3f}, recall {ev.account_recall:.3f}, "
                 f"F1 {ev.account_f1:.3f}")
    benign = ", ".join(f"{r['group_kind']} {r['flagged']}/{r['accounts']}"
                       for r in ev.benign_flagged.iter_rows(named=True))
    stdout.print(f"benign look-alike accounts flagged: {benign}")
    stdout.print(f"everything is under {out}/: data/, run/, evaluation.json")


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="A run directory written by 'graphfraud detect'."),
    to: Path = typer.Option(..., "--to", help="Directory for the case folders (one per ring)."),
    ring: list[str] | None = typer.Option(None, "--ring", help="Ring id to export (repeatable)."),
    top: int | None = typer.Option(None, "--top", help="Export the N strongest rings."),
    min_evidence: float | None = typer.Option(None, "--min-evidence",
                                                 help="Export rings with evidence (-log10 p) of at least X."),
    redact: bool = typer.Option(False, "--redact", help="Pseudonymise phones, IPs, payment accounts, addresses and "
                                                        "devices with a key from GRAPHFRAUD_REDACT_KEY."),
    zip_: bool = typer.Option(False, "--zip", help="Also pack each case folder into RING_ID.zip."),
    data: Path | None = typer.Option(None, "--data", help="The run's input directory: the campaign timeline then "
                                                             "shows each shop's own traffic next to the ring's."),
    encoding: str = EncodingOpt,
    tz: str = TzOpt,
) -> None:
    """Write a self-explaining case file per ring: report.html, summary.md, CSV, GraphML, Cypher."""
    from .export.casefile import export_cases

    dataset = None
    if data is not None:
        from .ingest import load_dataset

        dataset = load_dataset(data, encoding=encoding, tz=tz).dataset
    paths = export_cases(run_dir, to, ring_ids=ring, top=top, min_score=min_evidence, redact=redact, zip_bundle=zip_,
                         dataset=dataset)
    stdout.print(f"wrote {len(paths)} case file(s) under {safe(to)}" + (" (redacted)" if redact else ""))
    for p in paths[:10]:
        stdout.print(f"  {safe(p)}")


@app.command()
def expand(
    data_dir: Path = typer.Argument(..., help="Directory with the input tables."),
    out: Path = typer.Option(..., "--out", help="Directory for the run: rings.csv, ring_members.csv, answers.csv, "
                                               "evidence/, cases/."),
    tip: list[str] | None = typer.Option(None, "--tip", help="A reported account, review, order, device, IP, "
                                                               "payment account, address, phone or shop id "
                                                               "(repeatable)."),
    tips: Path | None = typer.Option(None, "--tips", help="A file with one tip per line."),
    level: float | None = typer.Option(None, "--level", help="p-value a group around a tip must reach on its own "
                                                                "(default: the --fdr level)."),
    seed: int = typer.Option(0, "--seed", help="Seed for Leiden and sampling."),
    fdr: float = FdrOpt,
    encoding: str = EncodingOpt,
    tz: str = TzOpt,
) -> None:
    """From tips (reported ids) to the rings behind them, with a case file for each."""
    from .export.casefile import export_cases
    from .pipeline import expand_files

    wanted = list(tip or [])
    if tips is not None:
        try:
            # utf-8-sig: editors on Windows start the file with a byte-order mark, which would
            # otherwise stick to the first tip and make it an unknown id.
            wanted += [line.strip() for line in tips.read_text("utf-8-sig").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            raise typer.BadParameter(f"--tips {tips}: cannot be read ({exc})") from None
    if not wanted:
        raise typer.BadParameter("give at least one --tip ID or a --tips FILE")
    run = expand_files(data_dir, wanted, out, detector=_detector(seed, fdr, 1.0), level=level, encoding=encoding,
                       tz=tz, progress=_progress)
    answers = run.extras["answers"]
    table = RichTable(title=f"{len(wanted)} tip(s)")
    for col in ("tip", "kind", "answer", "ring", "accounts looked at"):
        table.add_column(col)
    for r in answers.iter_rows(named=True):
        table.add_row(safe(r["tip"]), r["tip_kind"] or "-", r["status"], safe(r["ring_id"] or "-"), str(r["looked_at"]))
    stdout.print(table)
    if run.rings.height:
        from .ingest import load_dataset

        paths = export_cases(run, out / "cases", dataset=load_dataset(data_dir, encoding=encoding, tz=tz).dataset)
        stdout.print(f"{len(paths)} case file(s) in {out / 'cases'}; the run in {out}")
    else:
        stdout.print(f"no ring supported for any tip; what was looked at is in {out / 'answers.csv'}")


@app.command()
def diff(
    before: Path = typer.Argument(..., help="The earlier run directory."),
    after: Path = typer.Argument(..., help="The later run directory."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write every change with its members as JSON."),
) -> None:
    """List the rings that are new, grown, shrunk, merged, split or vanished between two runs."""
    import json

    from .lineage import diff as run_diff
    from .run import RunResult

    result = run_diff(RunResult.read(before).members, RunResult.read(after).members)
    table = RichTable(title=f"rings from {safe(before)} to {safe(after)}")
    for col in ("ring", "change", "related rings", "joined", "left"):
        table.add_column(col)
    for row in result.table().iter_rows(named=True):
        table.add_row(safe(row["ring_id"]), row["change"], safe(row["related"]), str(row["joined"]), str(row["left"]))
    stdout.print(table)
    stdout.print(", ".join(f"{k} {v}" for k, v in sorted(result.counts().items())) or "no rings in either run")
    if json_out is not None:
        json_out.write_text(json.dumps([r.__dict__ for r in result.rows], indent=2, ensure_ascii=False), "utf-8")
        stdout.print(f"changes with their members: {json_out}")


@app.command()
def monitor(
    source: str = typer.Argument("-", help="A file being appended (CSV with a header, or JSONL), a directory that "
                                           "receives new files, or - for JSON lines on stdin."),
    run_dir: Path | None = typer.Option(None, "--run", help="A run of 'graphfraud detect': also alert when its "
                                                               "rings' members or identifiers are seen again."),
    alerts: Path | None = typer.Option(None, "--alerts", help="Append alerts (JSONL) to this file instead of "
                                                                 "stdout."),
    rejects: Path | None = typer.Option(None, "--rejects", help="Append reject records (JSONL) to this file "
                                                                   "(default: one line each on stderr)."),
    table: str | None = typer.Option(None, "--table",
                                     help="orders or reviews, when the rows do not say "
                                          "(default: from order_id / review_id / a 'table' field)."),
    false_alarms: float = typer.Option(1.0, "--false-alarms-per-day",
                                       help="Expected false alarms per day under the nulls, all detectors together."),
    warmup: float = typer.Option(1.0, "--warmup-days", help="Event time to learn baselines before surge alerts."),
    idle_exit: float | None = typer.Option(None, "--idle-exit",
                                              help="Stop after this many seconds without new data (default: follow "
                                                   "until interrupted; stdin stops at its end)."),
    heartbeat: float = typer.Option(10.0, "--heartbeat", help="Seconds between progress lines on stderr."),
    tz: str = TzOpt,
    epoch_unit: str = EpochUnitOpt,
    time_range: str | None = TimeRangeOpt,
) -> None:
    """Watch order/review events as they arrive and alert on surges and known rings acting again."""
    import datetime as dt
    import json

    from .contract import TimeRange
    from .ingest.follow import follow
    from .run import RunResult
    from .stream import KnownRings, Monitor, MonitorConfig
    from .stream.alerts import iso

    known = None
    if run_dir is not None:
        run = RunResult.read(run_dir)
        known = KnownRings.from_tables(run.rings, run.members, run.nodes)
        _progress(f"watching {len(known)} known ring(s) from {run_dir}")
    mon = Monitor(MonitorConfig(false_alarms_per_day=false_alarms, warmup_days=warmup), known)
    span = TimeRange.parse(time_range, now=dt.datetime.now(dt.timezone.utc))
    alert_fh = open(alerts, "a", encoding="utf-8") if alerts is not None else None  # noqa: SIM115
    reject_fh = open(rejects, "a", encoding="utf-8") if rejects is not None else None  # noqa: SIM115

    def on_alert(alert: Alert) -> None:
        line = alert.to_json()
        if alert_fh is not None:
            alert_fh.write(line + "\n")
            alert_fh.flush()
        else:
            print(line, flush=True)

    def on_rejects(frame: pl.DataFrame) -> None:
        for r in frame.iter_rows(named=True):
            if reject_fh is not None:
                reject_fh.write(json.dumps(r, ensure_ascii=False) + "\n")
            else:
                where = safe(r["file"]) + (f":{r['line']}" if r["line"] is not None else "")
                console.print(f"[yellow]rejected {where}: {safe(r['reason'])}"
                              f"{' (' + safe(r['column']) + ')' if r['column'] else ''}[/yellow]", highlight=False)
        if reject_fh is not None:
            reject_fh.flush()

    def on_heartbeat(st: FollowStats) -> None:
        clock = iso(mon.stats.clock) if mon.stats.clock is not None else "-"
        counts = ", ".join(f"{k} {v}" for k, v in sorted(mon.stats.alerts.items())) or "none"
        _progress(f"{st.accepted:,} events, {st.rejected:,} rejected, {mon.stats.shops:,} shops, event time {clock}; "
                  f"alerts: {counts}")

    try:
        follow(source, mon, on_alert=on_alert, on_rejects=on_rejects, on_heartbeat=on_heartbeat,
               heartbeat_s=heartbeat, idle_exit_s=idle_exit, table=table, tz=tz, epoch_unit=epoch_unit,
               time_range=span)
    finally:
        for fh in (alert_fh, reject_fh):
            if fh is not None:
                fh.close()


neo4j_app = typer.Typer(help="The Neo4j workspace: load data, write rings back, keep schema files current.",
                        no_args_is_help=True, cls=_Group)
app.add_typer(neo4j_app, name="neo4j")


def _neo4j_settings() -> Settings:
    """The connection from NEO4J_* variables (or a prompt): read before a long load or detection,
    so that a missing NEO4J_URI is said in a second, not after it."""
    from .neo4j.settings import settings_from_env

    return settings_from_env()


class _gateway:
    """Context manager for a driver gateway built from ``settings``, else from NEO4J_* variables."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def __enter__(self) -> DriverGateway:
        from .neo4j.gateway import DriverGateway

        self.gw = DriverGateway(self.settings or _neo4j_settings())
        return self.gw

    def __exit__(self, *exc: object) -> None:
        self.gw.close()


def _push(run: RunResult | Path, settings: Settings | None = None) -> None:
    from .neo4j.rings import push_rings
    from .run import RunResult

    with _gateway(settings) as gw:
        result = push_rings(run if isinstance(run, RunResult) else RunResult.read(run), gw)
    stdout.print(f"Neo4j: {result['rings']} ring(s), {result['members']:,} members and {result['evidence_links']:,} "
                 f"evidence links written (run {result['run_id']}); earlier runs' rings replaced.")


@neo4j_app.command("ingest")
def neo4j_ingest(
    data_dir: Path = typer.Argument(..., help="Directory with the input tables."),
    batch_size: int = typer.Option(5_000, "--batch-size", min=1, help="Rows per UNWIND transaction."),
    encoding: str = EncodingOpt,
    tz: str = TzOpt,
    epoch_unit: str = EpochUnitOpt,
    time_range: str | None = TimeRangeOpt,
    bulk: bool = typer.Option(False, "--bulk", help="First load into the EMPTY database of the local server "
                              "(--home) with neo4j-admin database import: stops it, imports, starts it again."),
    home: Path | None = typer.Option(None, "--home", help="With --bulk: the local server's directory "
                                     "('graphfraud neo4j serve start --home DIR'; default .neo4j-local)."),
    password_file: Path | None = typer.Option(None, "--password-file",
                                                 help="With --bulk: file holding the password (else NEO4J_PASSWORD)."),
) -> None:
    """Load validated tables into Neo4j (constraints first, idempotent MERGE).

    The connection comes from NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD and NEO4J_DATABASE
    (the password is asked for when missing and a terminal is attached). With --bulk the
    same graph goes into the empty database of the local server through neo4j-admin's
    offline import (many times faster; refused when the database holds data).
    """
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from .ingest import load_dataset
    from .neo4j.ingest import ingest

    if not bulk and (home is not None or password_file is not None):
        raise typer.BadParameter("--home and --password-file name the local server of a bulk load: add --bulk "
                                 "(a MERGE ingest connects through NEO4J_URI)")
    settings = None if bulk else _neo4j_settings()
    loaded = load_dataset(data_dir, encoding=encoding, tz=tz, epoch_unit=epoch_unit, time_range=time_range,
                          progress=_progress)
    if loaded.report.n_rejected or loaded.report.problems()[0]:
        path = loaded.report.write_rejects(Path("graphfraud-rejects.csv"))
        from .pipeline import require_rows

        require_rows(loaded.report, f"See the rejected rows in {path}.")
        console.print(f"[yellow]{loaded.report.n_rejected:,} input row(s) rejected and not loaded; "
                      f"see {safe(path)}[/yellow]")
    if bulk:
        from .neo4j.ingest import bulk_ingest
        from .neo4j.local import password_from

        server = _local(home or Path(".neo4j-local"))
        done = bulk_ingest(loaded.dataset, server, password_from(password_file=password_file),
                           username=os.environ.get("NEO4J_USERNAME", "neo4j"),
                           progress=lambda message: console.print(f"[dim]{safe(message)}[/dim]"))
        phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in done.seconds.items())
        stdout.print(f"bulk-loaded {done.rows:,} rows as {done.nodes:,} nodes and {done.relationships:,} "
                     f"relationships in {done.total_seconds:.1f}s ({done.rows_per_s:,.0f} rows/s; {phases})")
        return
    with _gateway(settings) as gw, Progress(TextColumn("{task.description}"), BarColumn(),
                                    TextColumn("{task.completed:,}/{task.total:,}"),
                                    TimeElapsedColumn(), console=console) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(name: str, done: int, total: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        report = ingest(loaded.dataset, gw, batch_size=batch_size, progress=progress)
    stdout.print(f"loaded {report.rows:,} rows through {report.statements} statements in {report.seconds:.1f}s "
                 f"({report.rows_per_s:,.0f} rows/s)")


@neo4j_app.command("push")
def neo4j_push(run_dir: Path = typer.Argument(..., help="A run directory written by 'graphfraud detect'.")) -> None:
    """Write a run's rings into Neo4j: Ring nodes, RingMember labels, MEMBER_OF and EVIDENCE links."""
    _push(run_dir)


@neo4j_app.command("schema")
def neo4j_schema() -> None:
    """Create the named constraints and indexes (safe to run again)."""
    from .neo4j.ingest import apply_schema

    with _gateway() as gw:
        n = apply_schema(gw)
    stdout.print(f"{n} constraints and indexes in place.")


serve_app = typer.Typer(help="A local Neo4j 5.26 (Browser, APOC, GDS) from Maven Central, without Docker.",
                        no_args_is_help=True, cls=_Group)
neo4j_app.add_typer(serve_app, name="serve")
HomeOpt = typer.Option(Path(".neo4j-local"), "--home", help="Server directory (conf, data, logs, jars).")


def _local(home: Path, pom: Path | None = None, bolt_port: int = 7687, http_port: int = 7474,
           guide_url: str = "http://127.0.0.1:8001") -> LocalServer:
    from .neo4j.local import LocalServer

    return LocalServer(home=home.resolve(), pom=pom.resolve() if pom is not None else None, bolt_port=bolt_port,
                       http_port=http_port, guide_url=guide_url)


@serve_app.command("start")
def serve_start(
    home: Path = HomeOpt,
    pom: Path | None = typer.Option(None, "--pom", help="The pinned Maven module listing the jars "
                                       "(default: the one shipped with graphfraud, neo4j/local/pom.xml)."),
    bolt_port: int = typer.Option(7687, "--bolt-port", min=0, help="Bolt port on 127.0.0.1 (0: a free one)."),
    http_port: int = typer.Option(7474, "--http-port", min=0, help="Browser/HTTP port on 127.0.0.1 (0: a free one)."),
    guide_url: str = typer.Option("http://127.0.0.1:8001", "--guide-url",
                                  help="Origin serving cypher/ (guide, style); allow-listed for Browser."),
    password_file: Path | None = typer.Option(None, "--password-file",
                                                 help="File holding the password (else NEO4J_PASSWORD)."),
) -> None:
    """Start the local server in the background (auth on, loopback only) and wait until Bolt answers."""
    from .neo4j.local import password_from, start

    st = start(_local(home, pom, bolt_port, http_port, guide_url), password_from(password_file=password_file))
    stdout.print(f"Neo4j running (pid {st.pid}): export NEO4J_URI={st.bolt_uri} NEO4J_USERNAME=neo4j; "
                 f"Browser at {st.http_url}/browser/")


@serve_app.command("stop")
def serve_stop(home: Path = HomeOpt) -> None:
    """Stop the local server cleanly."""
    from .neo4j.local import stop

    stdout.print("Neo4j stopped." if stop(_local(home)) else "Neo4j was not running.")


@serve_app.command("status")
def serve_status(home: Path = HomeOpt) -> None:
    """Say whether the local server runs, and where."""
    from .neo4j.local import status

    st = status(_local(home))
    if not st.running:
        stdout.print(f"Neo4j is not running (home {safe(st.home)}).")
        raise typer.Exit(3)
    stdout.print(f"Neo4j running (pid {st.pid}) at {st.bolt_uri}; Browser at {st.http_url}/browser/")


@neo4j_app.command("generate")
def neo4j_generate(
    root: Path = typer.Option(Path("."), "--root", help="Project root holding cypher/ and docs/."),
) -> None:
    """Regenerate cypher/schema.cypher, the Browser style and guide, and docs/schema.md from the schema."""
    from .neo4j.generate import write_generated

    for path in write_generated(root):
        stdout.print(f"wrote {path}")


def run() -> None:
    """Console-script entry point: exit codes and one-line errors (see :mod:`graphfraud.terminal`)."""
    terminal.run(app)
