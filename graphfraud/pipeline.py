"""Whole jobs, for the CLI, the notebook and the benchmarks alike: files (or Neo4j) in,
a :class:`~graphfraud.run.RunResult` out.

>>> import tempfile
>>> from graphfraud.synth import synthesize
>>> from graphfraud.export.tables import write_tables
>>> from graphfraud.detect.detector import RingDetector
>>> data = Path(tempfile.mkdtemp()) / "data"
>>> _ = write_tables(synthesize(1_000, seed=2).tables, data)
>>> run = detect_files(data, detector=RingDetector(seed=2))
>>> run.rings.height >= 1 and run.manifest["inputs"]["reviews"]["sha256"] != ""
True
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from .contract import DEFAULT_TZ
from .dataset import Dataset
from .errors import DataContractError
from .lineage import carry_ids
from .run import RunResult, check_output

if TYPE_CHECKING:
    from .detect.detector import RingDetector
    from .evaluate import Evaluation
    from .ingest.load import LoadReport, LoadResult
    from .neo4j.gateway import Gateway

Progress = Callable[[str], None]
#: Progress inside a long stage: (stage, done, total, unit); see :meth:`RingDetector.fit`.
Counts = Callable[[str, int, int, str], None]


def _detector(detector: RingDetector | None, **params: Any) -> RingDetector:
    """``detector``, or one with ``params``; imported here so that validating or exporting a run
    never pays for the graph libraries the detector needs."""
    if detector is not None:
        return detector
    from .detect.detector import RingDetector

    return RingDetector(**params)


def require_rows(report: LoadReport, hint: str) -> None:
    """Stop when a required table has no row left after validation: nothing could be detected."""
    fatal, _ = report.problems()
    if fatal:
        raise DataContractError(f"the data is not usable: {'; '.join(fatal)}. {hint}")


def _load(data_dir: str | Path, progress: Progress | None, **options: Any) -> LoadResult:
    from .ingest import load_dataset

    loaded = load_dataset(data_dir, progress=progress, **options)
    require_rows(loaded.report, f"Run 'graphfraud validate {data_dir}' to see the rejected rows.")
    return loaded


def detect_dataset(dataset: Dataset, *, detector: RingDetector | None = None, load_report: LoadReport | None = None,
                   progress: Progress | None = None, extra: dict[str, Any] | None = None,
                   previous: RunResult | None = None, counts: Counts | None = None,
                   release: bool = False) -> RunResult:
    """Fit ``detector`` (default parameters if omitted) and collect a :class:`RunResult`.

    With ``previous`` (an earlier run on the same platform), rings that overlap one of its
    rings keep that ring's id (:mod:`graphfraud.lineage`). ``release`` drops the dataset's
    tables once they are coded (:meth:`Dataset.release`), for a caller that owns it.
    """
    det = _detector(detector).fit(dataset, progress=progress, counts=counts, release=release)
    run = RunResult.from_detector(det, dataset=dataset, load_report=load_report, extra=extra)
    if previous is not None:
        mapping = carry_ids(run.members, previous.members)
        run = run.with_ring_ids(mapping).with_manifest(previous_run={
            "path": str(previous.path) if previous.path else None, "created_at": previous.manifest.get("created_at"),
            "rings": previous.rings.height, "ids_kept": len(mapping)})
    return run


def detect_files(data_dir: str | Path, out: str | Path | None = None, *, detector: RingDetector | None = None,
                 encoding: str = "auto", tz: str = DEFAULT_TZ, progress: Progress | None = None,
                 previous: str | Path | RunResult | None = None, counts: Counts | None = None,
                 **load_options: Any) -> RunResult:
    """Load and validate ``data_dir``, detect rings, and write the run to ``out`` if given.

    ``out`` and the detector's parameters are checked before anything is read, so a bad
    path or ``fdr`` fails in a second, not after the whole load. Only the contract's
    columns are read; the manifest's ``inputs`` name the others per table
    (``unread_columns``).
    """
    if out is not None:
        check_output(Path(out))
    det = _detector(detector).check()
    prev = RunResult.read(previous) if isinstance(previous, (str, Path)) else previous
    t0 = time.perf_counter()
    # Detection uses the contract's columns only: the others are named, not read.
    loaded = _load(data_dir, progress, encoding=encoding, tz=tz, contract_only=True, **load_options)
    load_s = round(time.perf_counter() - t0, 3)
    # The dataset was loaded here and is read by nothing after its tables are coded.
    run = detect_dataset(loaded.dataset, detector=det, load_report=loaded.report, progress=progress,
                         previous=prev, counts=counts, release=True)
    run = run.with_manifest(timings_s={"load": load_s, **run.manifest["timings_s"]},
                            ignored_files=ignored_files(data_dir, loaded.report))
    return run.write(out) if out is not None else run


def ignored_files(data_dir: str | Path, report: LoadReport) -> dict[str, str]:
    """The files in ``data_dir`` that no table was read from, each with what to do.

    A platform export's ``Orders.CSV`` or ``orders.csv.bak`` is not read: a run records and
    says so, or detection would quietly go without those orders.
    """
    from .contract import CONTRACT
    from .ingest.read import misnamed_tables

    proper = dict(misnamed_tables(Path(data_dir), CONTRACT).values())
    return {name: f"rename it to {proper[name]}" if name in proper else "not the name of a table of the data contract"
            for name in report.ignored_files}


def detect_neo4j(gateway: Gateway, out: str | Path | None = None, *, detector: RingDetector | None = None,
                 tz: str = DEFAULT_TZ, progress: Progress | None = None, counts: Counts | None = None) -> RunResult:
    """Read the dataset held in Neo4j through ``gateway`` and detect rings in it."""
    from .neo4j.source import read_dataset

    if out is not None:
        check_output(Path(out))
    det = _detector(detector).check()
    if progress:
        progress("reading the dataset from Neo4j")
    t0 = time.perf_counter()
    dataset = read_dataset(gateway, tz=tz)
    load_s = round(time.perf_counter() - t0, 3)
    run = detect_dataset(dataset, detector=det, progress=progress, extra={"source": "neo4j"}, counts=counts)
    run = run.with_manifest(timings_s={"load": load_s, **run.manifest["timings_s"]})
    return run.write(out) if out is not None else run


@dataclass(frozen=True)
class Demo:
    """What ``graphfraud demo`` produced: the run and its score against the planted truth."""

    run: RunResult
    evaluation: Evaluation
    data_dir: Path


def demo(out: str | Path, *, accounts: int = 20_000, seed: int = 0, progress: Progress | None = None,
         counts: Counts | None = None) -> Demo:
    """Synthesise a marketplace, detect rings in it and score them against the truth."""
    import json

    from .evaluate import evaluate
    from .export.tables import write_tables
    from .synth import synthesize

    out = Path(out)
    check_output(out / "run")
    data = out / "data"
    if progress:
        progress(f"synthesising {accounts:,} accounts (seed {seed}) into {data}")
    res = synthesize(accounts, seed=seed)
    write_tables(res.tables, data)
    write_tables({"ring_members": res.ring_members, "benign_groups": res.benign_groups}, data / "truth")
    run = detect_files(data, out / "run", detector=_detector(None, seed=seed), progress=progress, counts=counts)
    ev = evaluate(run.members.select("ring_id", "account_id"), res.ring_members, res.benign_groups)
    (out / "evaluation.json").write_text(json.dumps(ev.as_dict(), indent=2), "utf-8")
    return Demo(run, ev, data)


def expand_files(data_dir: str | Path, tips: list[str], out: str | Path | None = None, *,
                 detector: RingDetector | None = None, level: float | None = None, encoding: str = "auto",
                 tz: str = DEFAULT_TZ, progress: Progress | None = None, **load_options: Any) -> RunResult:
    """From tips to the rings behind them, as a run: one row per ring found for a tip.

    ``rings`` holds the rings the tips lead to — flagged platform-wide, or groups measured
    around a tip — with a ``status`` column (``flagged``, ``supported``, ``no ring
    supported``); ``extras['answers']`` one row per tip. Written to ``out`` when given.
    """
    from .detect.detector import check_level

    if out is not None:
        check_output(Path(out))
    det = _detector(detector).check()
    check_level(level)
    loaded = _load(data_dir, progress, encoding=encoding, tz=tz, contract_only=True, **load_options)
    det.fit(loaded.dataset, progress=progress)
    if progress:
        progress(f"expanding {len(tips)} tip(s)")
    ex = det.expand(tips, level=level)
    answers = ex.answers
    status = answers.filter(pl.col("ring_id").is_not_null()).group_by("ring_id").agg(pl.col("status").first())
    flagged = status.filter(pl.col("status") == "flagged")
    local = status.filter(pl.col("status") != "flagged")
    parts_rings = [det.rings_.join(flagged, on="ring_id")]
    parts_members = [det.membership_.join(flagged.select("ring_id"), on="ring_id")]
    parts_nodes = [det.evidence_.nodes.join(flagged.select("ring_id"), on="ring_id")]
    parts_edges = [det.evidence_.edges.join(flagged.select("ring_id"), on="ring_id")]
    if ex.groups is not None and local.height:
        parts_rings.append(ex.groups.rings.drop("cid").join(local, on="ring_id"))
        parts_members.append(ex.groups.members.join(local.select("ring_id"), on="ring_id"))
        parts_nodes.append(ex.groups.evidence.nodes.join(local.select("ring_id"), on="ring_id"))
        parts_edges.append(ex.groups.evidence.edges.join(local.select("ring_id"), on="ring_id"))
    base = RunResult.from_detector(det, dataset=loaded.dataset, load_report=loaded.report,
                                   extra={"job": "expand", "tips": list(tips),
                                          "support_level": level if level is not None else det.fdr})
    run = RunResult(pl.concat(parts_rings, how="diagonal_relaxed"), pl.concat(parts_members),
                    base.candidates.head(0), pl.concat(parts_nodes), pl.concat(parts_edges), base.rejects,
                    base.manifest, extras={"answers": answers})
    return run.write(out) if out is not None else run


def ring_members(run: RunResult) -> pl.DataFrame:
    """(ring_id, account_id) of a run — what :func:`graphfraud.evaluate.evaluate` scores."""
    return run.members.select("ring_id", "account_id")
